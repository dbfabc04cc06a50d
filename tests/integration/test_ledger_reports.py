"""The books read back: the trial balance equals the sum of the lines whether the days are closed or
not, balances, and has the JSON shape scripts rely on; the voucher export's columns and numbers; the
balance sheet and income statement add up; the provisioning rates are validated and audited."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import BigInteger, func, select, type_coerce

from app import clock
from app.domain.ledger import Line
from app.extensions import db
from app.models import Account, AuditLog, JournalLine
from app.services import ledger, ledger_close, ledger_reports, ledger_settings, provisioning


@pytest.fixture()
def books(app):
    with app.app_context():
        ledger.ensure_chart()
        db.session.commit()
        yield


def _post(lines, on, memo=""):
    return ledger.post("manual", lines, value_date=on, posting_date=on, memo=memo)


def _seed(today):
    d1, d2 = today - timedelta(days=3), today - timedelta(days=2)
    _post([Line("channel:cash", debit=1_000_000), Line("4001", credit=1_000_000)], d1, "资本金")
    _post([Line("1303", debit=300_000), Line("channel:cash", credit=300_000)], d1, "放款")
    _post([Line("channel:cash", debit=12_345), Line("6011", credit=12_345)], d2, "利息")
    _post([Line("6602", debit=5_000), Line("channel:bank_transfer", credit=5_000)], today, "办公费")
    _post([Line("7001", debit=777), Line("7002", credit=777)], today, "表外")
    db.session.commit()


def _lines_sum(through) -> dict[str, tuple[int, int]]:
    rows = db.session.execute(
        select(Account.code, func.sum(type_coerce(JournalLine.debit, BigInteger)),
               func.sum(type_coerce(JournalLine.credit, BigInteger)))
        .join(Account, Account.id == JournalLine.account_id)
        .where(JournalLine.posting_date <= through).group_by(Account.code)).all()
    return {code: (int(d), int(c)) for code, d, c in rows}


def test_trial_balance_equals_the_lines_before_and_after_a_day_close(app, books):
    today = clock.business_today()
    _seed(today)
    for when in ("open", "closed"):
        for as_of in (today - timedelta(days=3), today - timedelta(days=2), today):
            tb = ledger_reports.trial_balance(as_of)
            expected = _lines_sum(as_of)
            got = {r.code: (r.debit, r.credit) for r in tb.rows if r.debit or r.credit}
            assert got == expected, (when, as_of)
            assert tb.balanced and tb.debit == sum(d for d, _c in expected.values())
        if when == "open":
            ledger_close.close_day(today - timedelta(days=1))  # the first two days now come from day totals
    tb = ledger_reports.trial_balance(today)
    by_code = {r.code: r for r in tb.rows}
    assert by_code["1001"].balance == 1_000_000 - 300_000 + 12_345
    assert by_code["4001"].balance == 1_000_000  # a credit-side account: positive on its side
    assert by_code["1002"].balance == -5_000     # stands on the other side
    assert [r.code for r in tb.off_balance] == ["7001", "7002"] and tb.rows[-1].code == "7002"


def test_trial_balance_json_shape_and_amounts_in_yuan(app, books):
    today = clock.business_today()
    _seed(today)
    data = ledger_reports.trial_balance(today).as_json()
    assert set(data) == {"as_of", "accounts", "totals"} and data["as_of"] == today.isoformat()
    assert all(set(a) == {"code", "name", "debit", "credit", "balance"} for a in data["accounts"])
    cash = next(a for a in data["accounts"] if a["code"] == "1001")
    assert cash == {"code": "1001", "name": "库存现金", "debit": "10123.45", "credit": "3000.00", "balance": "7123.45"}
    assert next(a for a in data["accounts"] if a["code"] == "1002")["balance"] == "-50.00"
    assert data["totals"]["debit"] == data["totals"]["credit"] == "13181.22"
    assert sum(Decimal(a["debit"]) for a in data["accounts"]) == Decimal(data["totals"]["debit"])


def test_voucher_export_columns_numbers_and_files(app, books):
    today = clock.business_today()
    _seed(today)
    start = today - timedelta(days=3)
    rows = ledger_reports.voucher_rows(start, today)
    assert ledger_reports.VOUCHER_HEADERS == ("凭证号", "日期", "摘要", "科目编码", "科目名称", "借方金额", "贷方金额")
    assert rows[0] == ("记-0001", start.isoformat(), "资本金", "1001", "库存现金", "10000.00", "")
    assert rows[1] == ("记-0001", start.isoformat(), "资本金", "4001", "实收资本", "", "10000.00")
    assert len(rows) == 10 and len({(r[1][:7], r[0]) for r in rows}) == 5  # numbered afresh each month
    # A voucher keeps its number whatever period is asked for.
    numbers = {(r[1], r[2]): r[0] for r in rows}
    later = ledger_reports.voucher_rows(today, today)
    assert [numbers[(r[1], r[2])] for r in later] == [r[0] for r in later]
    data, name = ledger_reports.voucher_file(None, start, today, "csv")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(table[0]) == ledger_reports.VOUCHER_HEADERS and len(table) == 11 and name.endswith(".csv")
    data, _name = ledger_reports.voucher_file(None, start, today, "xlsx")
    ws = load_workbook(io.BytesIO(data)).active
    assert tuple(c.value for c in ws[1]) == ledger_reports.VOUCHER_HEADERS
    assert ws.cell(2, 6).value == 10000 and ws.cell(2, 4).value == "1001"
    assert db.session.scalar(select(func.count()).select_from(AuditLog)
                             .where(AuditLog.action == "report.exported")) == 2
    with pytest.raises(ledger_reports.LedgerReportError):
        ledger_reports.voucher_file(None, today, start, "csv")  # ends before it starts


def test_balance_sheet_and_income_statement_add_up(app, books):
    today = clock.business_today()
    _seed(today)
    bs = ledger_reports.balance_sheet(today)
    f = bs.figures
    assert f["assets"] == 1_000_000 + 12_345 - 5_000  # cash + loans - bank
    assert f["equity"] == 1_000_000 and f["result"] == 12_345 - 5_000
    assert f["assets"] == f["liabilities_equity"]
    start = today - timedelta(days=2)
    st = ledger_reports.income_statement(start, today)
    assert st.figures == {"income": 12_345, "expense": 5_000, "result": 7_345}
    assert ledger_reports.income_statement(today, today).figures["income"] == 0
    gl = ledger_reports.general_ledger("1001", today - timedelta(days=2), today)
    assert gl.opening == 700_000 and gl.closing == 712_345 and len(gl.lines) == 1
    journal = ledger_reports.journal_report(today - timedelta(days=3), today)
    assert len(list(journal.rows)) == 10


def test_provision_rates_validated_audited_and_used(app, books):
    assert ledger_settings.percents() == {"normal": "1", "special_mention": "2", "substandard": "25",
                                          "doubtful": "50", "loss": "100"}
    with pytest.raises(ledger_settings.LedgerSettingError) as refused:
        ledger_settings.set_provision_rates({"normal": "abc", "special_mention": "2", "substandard": "101",
                                             "doubtful": "1.234", "loss": "100"}, actor_id=None)
    assert set(refused.value.fields) == {"normal", "substandard", "doubtful"}
    assert ledger_settings.provision_rates()["normal"] == Decimal("0.01")  # nothing stored
    ledger_settings.set_provision_rates({"normal": "1.5", "special_mention": "3%", "substandard": "25",
                                         "doubtful": "50", "loss": "100"}, actor_id=None)
    assert provisioning.rates()["normal"] == Decimal("0.015")
    assert ledger_settings.percents()["special_mention"] == "3"
    assert db.session.scalar(select(func.count()).select_from(AuditLog)
                             .where(AuditLog.action == "setting.changed")) == 1
