"""A small report registered by the reports' screen, export and command-line tests: the loans in
reach, one row per office (counts, principal, share, the latest disbursement date), or one row per
loan with the borrower's name (a personal column) when ``extra["list"]`` is set."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import BigInteger, func, select, type_coerce

from app.domain.i18n import N_
from app.extensions import db
from app.models import Borrower, Loan, Office
from app.services import reporting
from app.services.reporting import Column, Report, ReportSpec

NAME = "tiny"


def build(viewer, request) -> Report:
    where = [reporting.reach(viewer, Loan), reporting.office_filter(request, Loan.office_id),
             Loan.disbursed_on <= request.as_of]
    if request.officer_id is not None:
        where.append(Loan.officer_id == request.officer_id)
    if request.product_id is not None:
        where.append(Loan.product_id == request.product_id)
    principal = type_coerce(Loan.principal, BigInteger)
    if request.extra.get("list"):
        columns = [Column("borrower", N_("Borrower"), "text", personal=True),
                   Column("disbursed_on", N_("Disbursed on"), "date"),
                   Column("principal", N_("Principal"), "money"),
                   Column("days_past_due", N_("Days past due"), "days")]
        q = (select(Borrower.name, Loan.disbursed_on, principal, Loan.days_past_due)
             .join(Borrower, Borrower.id == Loan.borrower_id).where(*where).order_by(Loan.id))

        def rows():
            for name, day, fen, dpd in db.session.execute(q).yield_per(1000):
                yield {"borrower": name, "disbursed_on": day, "principal": reporting.fen_to_yuan(fen),
                       "days_past_due": dpd}

        total = db.session.scalar(select(func.coalesce(func.sum(principal), 0)).where(*where))
        return Report(NAME, N_("Loans"), request, columns, rows(),
                      totals={"principal": reporting.fen_to_yuan(total)})
    q = (select(Office.name, func.count(Loan.id), func.coalesce(func.sum(principal), 0), func.max(Loan.disbursed_on))
         .join(Office, Office.id == Loan.office_id).where(*where).group_by(Office.name).order_by(Office.name))
    found = db.session.execute(q).all()
    whole = sum(int(r[2]) for r in found)
    rows = [{"office": name, "loans": n, "principal": reporting.fen_to_yuan(fen),
             "share": reporting.share(int(fen), whole), "latest": latest} for name, n, fen, latest in found]
    columns = [Column("office", N_("Office")), Column("loans", N_("Loans"), "int"),
               Column("principal", N_("Principal"), "money"), Column("share", N_("Share"), "percent"),
               Column("latest", N_("Disbursed on"), "date")]
    return Report(NAME, N_("Loans"), request, columns, rows,
                  totals={"loans": sum(r["loans"] for r in rows), "principal": reporting.fen_to_yuan(whole)},
                  notes=[N_("Principal outstanding")])


def register(monkeypatch, *, period: bool = False) -> None:
    """Register the tiny report for one test (pytest's monkeypatch undoes it)."""
    monkeypatch.setattr(reporting, "NAMES", (*reporting.NAMES, NAME))
    monkeypatch.setitem(reporting.REPORTS, NAME,
                        ReportSpec(NAME, N_("Loans"), build, period=period, by=("office",),
                                   description=N_("Principal outstanding")))


def add_loans(today) -> dict[str, int]:
    """Two more loans beside the demo's (城关, officer1): one of 河口's officer3, 12 days past due,
    and one of 城关's officer2; returns the loans per office name."""
    from app.models import Application, Installment, Product, User

    def who(name):
        return db.session.scalar(select(User).where(User.username == name))

    product = db.session.scalar(select(Product).where(Product.code == "XYD"))
    for n, (officer, fen, dpd) in enumerate((("officer3", 800_000, 12), ("officer2", 1_234_550, 0)), start=1):
        user = who(officer)
        borrower = Borrower(name=f"报表借款人{n}", id_number=f"8{n:017d}", sex="M", birth_date=date(1980, 1, 1),
                            office_id=user.office_id, officer_id=user.id, village="=1+1" if n == 1 else "红星村")
        application = Application(borrower=borrower, product=product, officer_id=user.id, office_id=user.office_id,
                                  amount=Decimal(fen) / 100, term_months=1, state="disbursed")
        disbursed = today - timedelta(days=30 + dpd)
        loan = Loan(application=application, borrower=borrower, product_id=product.id, officer_id=user.id,
                    office_id=user.office_id, principal=Decimal(fen) / 100, annual_rate=Decimal("0.0960"),
                    repayment_method="equal_principal", penalty_rate=Decimal("0.1440"), term_months=1,
                    disbursed_on=disbursed, maturity_date=disbursed + timedelta(days=30), channel="cash",
                    disbursed_by_id=who("cashier1").id, accrued_through=today, days_past_due=dpd)
        loan.installments = [Installment(seq=1, due_date=disbursed + timedelta(days=30),
                                         principal_due=Decimal(fen) / 100, interest_due=Decimal("0.00"))]
        db.session.add(loan)
    db.session.commit()
    return dict(db.session.execute(select(Office.name, func.count(Loan.id)).join(Loan, Loan.office_id == Office.id)
                                   .group_by(Office.name)).tuples().all())
