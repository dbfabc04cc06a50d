"""The printed loan contract: numbered once at disbursement, complete terms, both parties with full ID
numbers on paper only, signature and seal lines; screens keep masking."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import select

from app.extensions import db
from app.models import Application, AuditLog, Borrower, Loan, User
from app.services import jobs
from app.services import loans as loan_service
from tests.conftest import Auth
from tests.support.staff import second_cashier

NUMBER = re.compile(r"^([A-Z0-9]+)-(\d{4})-(\d{5})$")


def _disburse_qian(app) -> Loan:
    with app.app_context():
        application = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == "钱七"))
        cashier = db.session.scalar(select(User).where(User.username == "cashier1"))
        today = jobs.business_today()
        form = loan_service.DisbursementForm(amount="15000", disbursed_on=today.isoformat(), channel="bank_transfer",
                                             reference="BT-C1")
        loan = loan_service.disburse(application, form, cashier, today=today, now=datetime.now(timezone.utc), settings=loan_service.LoanSettings())
        db.session.refresh(loan)
        db.session.expunge(loan)
        return loan


def test_a_disbursement_gets_the_next_number_of_its_office_and_year_once(app, demo):
    loan = _disburse_qian(app)
    match = NUMBER.match(loan.contract_no or "")
    assert match, loan.contract_no
    office, year, seq = match.group(1), int(match.group(2)), int(match.group(3))
    with app.app_context():
        numbers = db.session.scalars(select(Loan.contract_no)).all()
        assert None not in numbers and len(set(numbers)) == len(numbers)  # every loan numbered, no two alike
        same = [int(n.rsplit("-", 1)[1]) for n in numbers if n.startswith(f"{office}-{year}-")]
        assert seq == max(same) and sorted(same) == list(range(1, len(same) + 1))
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "loan_disbursed").order_by(AuditLog.id.desc()))
        assert audit.detail["contract_no"] == loan.contract_no
        # Undone and disbursed again: a new number; the undone one is never given again.
        loan_service.undo_disbursement(db.session.get(Loan, loan.id), second_cashier(), "录错", now=datetime.now(timezone.utc))
    again = _disburse_qian(app)
    assert again.contract_no != loan.contract_no
    assert int(NUMBER.match(again.contract_no).group(3)) == seq + 1


def test_the_printed_contract_is_complete_and_the_screens_still_mask(app, client, auth, demo):
    loan = _disburse_qian(app)
    with app.app_context():
        borrower = db.session.get(Borrower, loan.borrower_id)
        full_id, name = borrower.id_number, borrower.name
    auth.login("cashier1")
    r = client.get(f"/loans/{loan.id}/note")
    note = r.get_data(as_text=True)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert "借款合同" in note and loan.contract_no in note
    assert note.count(full_id) == 2  # the parties' table and the borrower's signature block
    for text in ("壹万伍仟元整", "¥15,000.00", "贷款人（盖章）", "借款人（签名并按手印）", "签订地点", "罚息利率",
                 app.config["INSTITUTION_NAME"], "还款计划", "print.css", "data-print"):
        assert text in note, text
    assert "onclick" not in note  # no inline handlers (the CSP allows no inline script)
    with app.app_context():
        purpose = db.session.get(Loan, loan.id).application.purpose
    assert purpose in note
    # On screen the number stays masked.
    screen = client.get(f"/loans/{loan.id}").get_data(as_text=True)
    assert full_id not in screen and loan.contract_no in screen
    assert full_id not in client.get(f"/applications/{loan.application_id}").get_data(as_text=True)
    # A role with no contract to have signed does not see it.
    reviewer = Auth(app.test_client())
    reviewer.login("reviewer1")
    assert reviewer.client.get(f"/loans/{loan.id}/note").status_code == 403
    assert name  # the borrower's name is on both


def test_viewing_the_contract_is_recorded_as_a_view_of_the_full_id_number(app, client, auth, demo):
    from app.models.audit import IdentityView

    loan = _disburse_qian(app)
    auth.login("cashier1")
    assert client.get(f"/loans/{loan.id}/note").status_code == 200
    with app.app_context():
        rows = db.session.scalars(select(IdentityView).where(IdentityView.borrower_id == loan.borrower_id)).all()
        assert any(r.object_type == "loan" and r.object_id == loan.id and "contract" in r.what and "id_number" in r.what
                   for r in rows)


def test_cashiers_numbering_at_the_same_time_never_share_a_number(app, demo):
    """Several disbursements of one office in a new year at once, each in its own transaction."""
    import threading

    from app.models import Office

    with app.app_context():
        office_id = db.session.scalar(select(Office.id).where(Office.code == "CG"))
    numbers: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def disburse_one() -> None:
        try:
            with app.app_context():
                office = db.session.get(Office, office_id)
                start.wait()
                number = loan_service.next_contract_no(office, 2031)
                db.session.commit()
                numbers.append(number)
                db.session.remove()
        except BaseException as e:  # reported below, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=disburse_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(numbers) == [f"CG-2031-{n:05d}" for n in range(1, 5)]
