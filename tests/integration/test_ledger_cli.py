"""``flask ledger …``: the trial balance as JSON/CSV/XLSX (audited), the day and month close with
their refusals in words (exit 2, nothing written), the reconciliation exiting non-zero on a difference."""
from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app import clock
from app.domain.ledger import Line
from app.extensions import db
from app.ledger_cli import EXIT_DIFFERENCE, EXIT_REFUSED
from app.models import AuditLog, LedgerBook, LedgerPeriod
from app.services import ledger


@pytest.fixture()
def runner(app):
    with app.app_context():
        ledger.ensure_chart()
        today = clock.business_today()
        last = today.replace(day=1) - timedelta(days=1)
        ledger.post("manual", [Line("channel:cash", debit=150_000), Line("4001", credit=150_000)],
                    value_date=last, posting_date=last, memo="资本金")
        ledger.post("manual", [Line("6602", debit=2_050), Line("channel:cash", credit=2_050)],
                    value_date=today, memo="办公费")
        db.session.commit()
    return app.test_cli_runner()


def test_trial_balance_json_to_stdout_and_files(app, runner, tmp_path):
    result = runner.invoke(args=["ledger", "trial-balance", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"as_of", "accounts", "totals"}
    assert data["as_of"] == clock.business_today().isoformat()
    cash = next(a for a in data["accounts"] if a["code"] == "1001")
    assert cash == {"code": "1001", "name": "库存现金", "debit": "1500.00", "credit": "20.50", "balance": "1479.50"}
    assert data["totals"] == {"debit": "1520.50", "credit": "1520.50"}
    earlier = (clock.business_today().replace(day=1) - timedelta(days=2)).isoformat()
    result = runner.invoke(args=["ledger", "trial-balance", "--as-of", earlier, "--format", "json"])
    assert json.loads(result.stdout)["totals"] == {"debit": "0.00", "credit": "0.00"}

    out = tmp_path / "tb.xlsx"
    result = runner.invoke(args=["ledger", "trial-balance", "--format", "xlsx", "--output", str(out)])
    assert result.exit_code == 0, result.output
    ws = load_workbook(io.BytesIO(out.read_bytes())).active
    values = [c for row in ws.iter_rows(values_only=True) for c in row]
    assert "库存现金" in values and 1479.5 in values and values[0] == "试算平衡表"
    out = tmp_path / "tb.csv"
    assert runner.invoke(args=["ledger", "trial-balance", "--format", "csv", "--output", str(out)]).exit_code == 0
    assert "1001,库存现金,1500.00,20.50,1479.50" in out.read_text(encoding="utf-8-sig")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog)
                                 .where(AuditLog.action == "report.exported")) == 4

    result = runner.invoke(args=["ledger", "trial-balance", "--as-of", "2026-02-30", "--format", "json"])
    assert result.exit_code == EXIT_REFUSED and "YYYY-MM-DD" in result.output


def test_close_day_and_month_from_the_command_line(app, runner):
    today = clock.business_today()
    last = today.replace(day=1) - timedelta(days=1)
    period = f"{last.year:04d}-{last.month:02d}"
    result = runner.invoke(args=["ledger", "close-day", "--date", today.isoformat()])
    assert result.exit_code == EXIT_REFUSED and today.isoformat() in result.output
    result = runner.invoke(args=["ledger", "close-month", period])  # its days are not closed yet
    assert result.exit_code == EXIT_REFUSED and period in result.output
    result = runner.invoke(args=["ledger", "close-day"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(LedgerBook, 1).days_closed_through == today - timedelta(days=1)
    result = runner.invoke(args=["ledger", "close-month", "2026-13"])
    assert result.exit_code == EXIT_REFUSED and "YYYY-MM" in result.output
    assert runner.invoke(args=["ledger", "provision", period]).exit_code == 0
    result = runner.invoke(args=["ledger", "close-month", period])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(LedgerPeriod, period).status == "closed"
    result = runner.invoke(args=["ledger", "close-month", period])
    assert result.exit_code == EXIT_REFUSED


def test_reconcile_exits_non_zero_on_a_difference(app, runner):
    pytest.importorskip("app.services.ledger_loans")
    result = runner.invoke(args=["ledger", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "1303" in result.output
    with app.app_context():
        # Principal on the books with no loan behind it: the 贷款 account and the loans now differ.
        ledger.post("manual", [Line("1303", debit=10_000), Line("channel:cash", credit=10_000)],
                    value_date=clock.business_today(), memo="无贷款的放款")
        db.session.commit()
    result = runner.invoke(args=["ledger", "reconcile"])
    assert result.exit_code == EXIT_DIFFERENCE
    assert "100.00" in result.output and "不符" in result.output
