"""A small report registered by the reports' screen, export and command-line tests: the loans in
reach, one row per office (counts, principal, share, the latest disbursement date), or one row per
loan with the borrower's name (a personal column) when ``extra["list"]`` is set."""
from __future__ import annotations

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
