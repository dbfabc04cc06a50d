"""``flask report NAME … --format csv|xlsx|json --out FILE``: the same request checks and files as
the screens, for the whole institution; a refused request exits 2 in words and writes nothing."""
from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import AuditLog
from app.report_cli import EXIT_REFUSED
from app.services import reporting
from tests.support import tiny_report


@pytest.fixture()
def runner(app, demo, monkeypatch):
    tiny_report.register(monkeypatch, period=True)
    with app.app_context():
        tiny_report.add_loans(clock.business_today())
    return app.test_cli_runner()


def test_json_has_the_documented_shape_with_amounts_as_strings(app, runner, tmp_path):
    out = tmp_path / "tiny.json"
    result = runner.invoke(args=["report", "tiny", "--by", "office", "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data) == {"report", "as_of", "filters", "rows", "totals"}
    assert data["report"] == "tiny" and data["as_of"] == clock.business_today().isoformat()
    assert data["filters"]["by"] == "office"
    assert {r["office"]: r["loans"] for r in data["rows"]} == {"城关办事处": 2, "河口办事处": 1}  # the whole institution
    assert data["totals"]["loans"] == 3 and isinstance(data["totals"]["principal"], str)
    assert data["totals"]["principal"].count(".") == 1 and len(data["totals"]["principal"].split(".")[1]) == 2
    with app.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "report.exported")).one()
        assert entry.actor_id is None and entry.detail["format"] == "json" and entry.detail["rows"] == 2


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_csv_and_xlsx_are_the_screens_files(runner, tmp_path, fmt):
    out = tmp_path / f"tiny.{fmt}"
    result = runner.invoke(args=["report", "tiny", "--office", "HK", "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    if fmt == "csv":
        assert data.startswith(b"\xef\xbb\xbf")
        text = data.decode("utf-8-sig")
        assert text.splitlines()[0] == "贷款" and "河口办事处" in text and "城关办事处" not in text
    else:
        ws = load_workbook(io.BytesIO(data)).active
        values = [tuple(r) for r in ws.iter_rows(values_only=True)]
        assert values[0][0] == "贷款" and ("机构", "HK") in [v[:2] for v in values] and ws.freeze_panes


@pytest.mark.parametrize("args,said", [
    (["tiny", "--from", "2026-03-01", "--to", "2026-02-01"], "期间的截止日期早于起始日期"),
    (["tiny", "--from", "2015-01-01", "--to", "2025-01-01"], "报表期间最长三年"),
    (["tiny", "--office", "NOPE"], "没有该代码的机构"),
    (["tiny", "--as-of", "2026-02-30"], "必须是日期"),
    (["nonesuch"], "没有名为“nonesuch”的报表"),
])
def test_a_refused_request_exits_2_in_chinese_and_english_and_writes_nothing(runner, tmp_path, args, said):
    folder = tmp_path / "out"
    folder.mkdir()
    result = runner.invoke(args=["report", *args, "--format", "json", "--out", str(folder / "out.json")])
    assert result.exit_code == EXIT_REFUSED, result.output
    assert said in result.output and any(c.isascii() and c.isalpha() for c in result.output)
    assert list(folder.iterdir()) == []


def test_every_registered_report_writes_json_xlsx_and_csv(runner, tmp_path):
    today = clock.business_today()
    for spec in reporting.specs():
        if spec.name == tiny_report.NAME:
            continue
        period = ["--from", today.replace(day=1).isoformat(), "--to", today.isoformat()] if spec.period else []
        for fmt in ("json", "xlsx", "csv"):
            out = tmp_path / f"{spec.name}.{fmt}"
            result = runner.invoke(args=["report", spec.name, *period, "--format", fmt, "--out", str(out)])
            assert result.exit_code == 0, (spec.name, fmt, result.output)
            assert out.stat().st_size > 0
        data = json.loads((tmp_path / f"{spec.name}.json").read_text(encoding="utf-8"))
        assert data["report"] == spec.name and set(data) == {"report", "as_of", "filters", "rows", "totals"}
        if spec.name == "par":
            assert {"loans", "outstanding_principal", "par1_principal", "par30_principal",
                    "par90_principal"} <= set(data["totals"])


def test_the_filters_name_the_product_by_the_code_asked_for(runner, tmp_path):
    out = tmp_path / "tiny.json"
    result = runner.invoke(args=["report", "tiny", "--product", "XYD", "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["filters"]["product"] == "XYD"  # not the product's internal id
    assert sum(r["loans"] for r in data["rows"]) == 3



def test_the_json_written_row_by_row_is_exactly_as_json(app, runner, tmp_path):
    out = tmp_path / "tiny.json"
    result = runner.invoke(args=["report", "tiny", "--by", "office", "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        request = reporting.parse("tiny", {"by": "office"}, viewer=None, today=clock.business_today())
        expected = reporting.as_json(reporting.run(None, request))
    assert json.loads(out.read_text(encoding="utf-8")) == expected and len(expected["rows"]) == 2
