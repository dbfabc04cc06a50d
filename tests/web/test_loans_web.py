"""The cashier's screens and the calculator over HTTP."""
from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser

from sqlalchemy import select

from app.extensions import db
from app.models import Application, Borrower, Loan
from app.services import jobs
from tests.conftest import Auth
from tests.support import book


def _qian_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Application.id).join(Borrower).where(Borrower.name == "钱七"))


def test_the_cashier_disburses_from_the_application_page_and_records_a_repayment(app, client, auth, demo):
    app_id = _qian_id(app)
    auth.login("cashier1")
    page = client.get(f"/applications/{app_id}").get_data(as_text=True)
    assert 'id="disbursement"' in page and 'value="disburse"' not in page  # the form, not a bare button
    today = jobs.business_today().isoformat()
    bad = auth.post(f"/applications/{app_id}/disburse", {"amount": "99999", "disbursed_on": today,
                                                          "channel": "bank_transfer", "reference": "BT-9"})
    assert bad.status_code == 422 and "不超过批准的" in bad.get_data(as_text=True)
    r = auth.post(f"/applications/{app_id}/disburse", {"amount": "15000", "disbursed_on": today,
                                                        "channel": "bank_transfer", "reference": "BT-9"})
    assert r.status_code == 303 and r.headers["Location"].startswith("/loans/")
    loan_page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "壹万伍仟元整" in loan_page and "还款计划" in loan_page
    with app.app_context():
        loan = db.session.scalar(select(Loan).where(Loan.application_id == app_id))
        version = loan.version
    refused = auth.post(f"/loans/{loan.id}/repayments", {"amount": "0", "paid_on": today, "channel": "cash",
                                                         "reference": "R1", "version": version})
    assert refused.status_code == 422 and "大于零" in refused.get_data(as_text=True)
    ok = auth.post(f"/loans/{loan.id}/repayments", {"amount": "500", "paid_on": today, "channel": "cash",
                                                    "reference": "R1", "version": version})
    assert ok.status_code == 303
    with app.app_context():
        loan = db.session.get(Loan, loan.id)
        assert [r.reference for r in loan.repayments] == ["R1"]
        rep_id = loan.repayments[0].id
    # The one who recorded it cannot reverse it.
    auth.post(f"/loans/{loan.id}/repayments/{rep_id}/reverse", {"reason": "录错"})
    with app.app_context():
        assert db.session.get(Loan, loan.id).repayments[0].reversed_at is None
    note = client.get(f"/loans/{loan.id}/note").get_data(as_text=True)
    assert "借款合同" in note and "壹万伍仟元整" in note and "print.css" in note


def test_the_calculator_gives_the_schedule_and_refuses_what_the_product_does_not_allow(app, client, auth, demo):
    auth.login("officer1")
    r = client.get("/calculator?product_id=1&amount=10000&term_months=12&rate_percent=9.6&start=2026-01-15",
                   headers={"HX-Request": "true"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in page  # the partial alone for htmx
    assert "¥10,000.00" in page and "2027-01-15" in page
    for query, text in (("term_months=0", "期限"), ("rate_percent=99", "利率"), ("amount=-5", "金额")):
        params = dict(p.split("=") for p in "product_id=1&amount=10000&term_months=12&rate_percent=9.6&start=2026-01-15".split("&"))
        key, value = query.split("=")
        params[key] = value
        body = client.get("/calculator", query_string=params).get_data(as_text=True)
        assert "flash-error" in body and text in body


def test_a_term_python_calls_digits_but_int_refuses_is_a_message_not_a_500(app, client, auth, demo):
    auth.login("officer1")
    r = client.get("/calculator", query_string={"product_id": "1", "amount": "10000", "term_months": "²",
                                                "rate_percent": "9.6", "start": "2026-01-15"})
    assert r.status_code == 200 and "flash-error" in r.get_data(as_text=True)


def test_the_portfolio_shows_par(app, client, auth, demo):
    with app.app_context():
        jobs.run_daily(jobs.business_today())
    auth.login("reviewer1")
    page = client.get("/loans").get_data(as_text=True)
    assert "PAR30" in page and "冯十二" in page
    other = Auth(app.test_client())
    other.login("officer3")
    assert "冯十二" not in other.client.get("/loans").get_data(as_text=True)  # not his


def test_the_par_card_reads_todays_opening_once_the_daily_job_has_run(app, client, auth, demo):
    """Live until the day's run (a repayment taken today moves it); the opening after (it does not)."""
    import re

    def card() -> str:
        page = client.get("/loans").get_data(as_text=True)
        return re.search(r'<section class="card" id="portfolio">.*?</section>', page, re.S).group(0)

    auth.login("reviewer1")
    live = card()
    assert "日终处理尚未运行" in live
    book.repay_late_demo_loan_today(app, "300", "R-live")
    assert card() != live  # the live fallback counts today's repayment
    with app.app_context():
        jobs.run_daily(jobs.business_today())
    opening = card()
    assert "今日开始时的数据" in opening and "日终处理尚未运行" not in opening
    book.repay_late_demo_loan_today(app, "200", "R-opening")
    assert card() == opening  # counted from tomorrow's figures


def test_a_receipt_photo_is_kept_with_the_repayment_and_a_bad_one_refused(app, client, auth, demo):
    import io

    from tests.sync_helpers import jpeg_bytes

    auth.login("cashier1")
    with app.app_context():
        loan = db.session.scalar(select(Loan).join(Borrower).where(Borrower.name == "冯十二"))
        loan_id, version = loan.id, loan.version
    today = jobs.business_today().isoformat()
    bad = auth.post(f"/loans/{loan_id}/repayments", {"amount": "100", "paid_on": today, "channel": "cash",
                                                     "reference": "R-rc", "version": version,
                                                     "receipt": (io.BytesIO(b"not an image"), "r.jpg")},
                    content_type="multipart/form-data")
    assert bad.status_code == 422
    with app.app_context():
        assert [r.reference for r in db.session.get(Loan, loan_id).repayments] == ["DEMO-R-0001"]
    ok = auth.post(f"/loans/{loan_id}/repayments", {"amount": "100", "paid_on": today, "channel": "cash",
                                                    "reference": "R-rc", "version": version,
                                                    "receipt": (io.BytesIO(jpeg_bytes(800, 600)), "r.jpg")},
                   content_type="multipart/form-data")
    assert ok.status_code == 303
    with app.app_context():
        rep = db.session.get(Loan, loan_id).repayments[-1]
        assert len(rep.receipt_sha256) == 64
    image = client.get(f"/loans/{loan_id}/repayments/{rep.id}/receipt")
    assert image.status_code == 200 and image.mimetype == "image/jpeg"


class _Tables(HTMLParser):
    """The text of every cell of every table, by the id of the section around it."""

    def __init__(self) -> None:
        super().__init__()
        self.section = ""
        self.tables: dict[str, list[list[tuple[str, str]]]] = {}
        self.cell: list[str] | None = None
        self.cls = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.section = a.get("id") or ""
        elif tag == "tr":
            self.tables.setdefault(self.section, []).append([])
        elif tag in ("td", "th"):
            self.cell, self.cls = [], a.get("class") or ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[self.section][-1].append((" ".join("".join(self.cell).split()), self.cls))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def _tables(html: str) -> dict[str, list[list[tuple[str, str]]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def test_the_loan_page_shows_each_installments_total_and_balance_and_each_repayments_split(app, client, auth, demo):
    """Issue 12 item 9: the schedule says what each installment costs in all and what principal is
    left after it; each repayment says how it went to penalty, interest and principal; every money
    column is right-aligned with ¥."""
    from app.domain.money import format_money

    with app.app_context():
        loan = db.session.scalar(select(Loan).join(Borrower).where(Borrower.name == "冯十二"))
        loan_id, principal = loan.id, loan.principal
        installments = [(i.seq, i.principal_due, i.interest_due, i.penalty_accrued)
                        for i in sorted(loan.installments, key=lambda i: i.seq)]
        paid = [(r.amount, r.allocation["parts"]) for r in loan.repayments if r.reversed_at is None]
    assert paid, "the demo's loan has a repayment"
    auth.login("cashier1")
    tables = _tables(client.get(f"/loans/{loan_id}").get_data(as_text=True))

    head, *body = tables["schedule"]
    assert [text for text, _ in head][2:8] == ["本金", "利息", "罚息", "本期应还", "剩余本金", "已还"]
    assert all("money" in cls for _, cls in head[2:8])  # headings sit over their right-aligned figures
    balance = principal
    for row, (seq, p, i, pen) in zip(body, installments, strict=True):
        balance -= p
        cells = [text for text, _ in row]
        assert cells[0] == str(seq)
        assert cells[5] == "¥" + format_money(p + i + pen)
        assert cells[6] == "¥" + format_money(balance)
        assert all("money" in cls and text.startswith("¥") for text, cls in row[2:8])
    assert body[-1][6][0] == "¥0.00"

    head, *body = tables["repayments"]
    assert [text for text, _ in head][:5] == ["还款日期", "金额", "罚息", "利息", "本金"]
    rows = [r for r in body if len(r) == 7]
    for row, (amount, parts) in zip(rows, paid, strict=True):
        fen = {"penalty": 0, "interest": 0, "principal": 0}
        for _seq, component, f in parts:
            fen["penalty" if component == "penalty" else component.rsplit("_", 1)[1]] += f
        cells = [text for text, _ in row]
        assert cells[1] == "¥" + format_money(amount)
        assert cells[2:5] == ["¥" + format_money(Decimal(fen[k]) / 100) for k in ("penalty", "interest", "principal")]
        assert sum(fen.values()) == amount * 100
