"""A loan's statement: the schedule beside what actually happened, and every event of the account
(paid out, an installment falling due, a repayment and how it was allocated, a reversal) with the
balances after it.

The figures after each event come from the same replay the loan page and the daily job use
(``app.domain.repayment.replay``): the standing repayments up to and including that event, penalty
accrued up to (not including) its day — so the statement's last line equals the loan page. Money
in Decimal yuan computed from integer fen; a loan has tens of installments, so replaying once per
event is cheap.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.domain import repayment as rp
from app.domain.i18n import N_
from app.models import Loan, Repayment
from app.services import loans as loan_service

EVENT_LABELS = {
    "disbursed": N_("Loan paid out"),
    "due": N_("Installment %(seq)s due"),
    "repayment": N_("Repayment"),
    "reversed": N_("Repayment (reversed)"),
    "restructured": N_("Restructured: a new schedule"),
    "as_of": N_("Position today"),
}
INSTALLMENT_STATES = {
    "paid_on_time": N_("Paid on time"), "paid_late": N_("Paid late"), "overdue": N_("Overdue"),
    "due_today": N_("Due today"), "not_due": N_("Not yet due"), "part_paid": N_("Partly paid"),
}


@dataclass(frozen=True)
class ScheduleLine:
    seq: int
    due_date: date
    principal_due: Decimal
    interest_due: Decimal
    principal_paid: Decimal
    interest_paid: Decimal
    penalty: Decimal       # penalty interest accrued on this installment so far
    penalty_paid: Decimal
    paid_off_on: date | None
    state: str             # a key of INSTALLMENT_STATES
    days_late: int         # paid late: days after the due date; overdue: days past due so far


@dataclass(frozen=True)
class Event:
    on: date
    kind: str              # a key of EVENT_LABELS
    seq: int | None        # the installment of a "due" event
    amount: Decimal        # paid out, fallen due, or paid
    penalty: Decimal       # a repayment's allocation (zero for other events)
    interest: Decimal
    principal: Decimal
    prepaid: Decimal
    unapplied: Decimal
    principal_balance: Decimal  # principal not yet repaid, after this event
    overdue: Decimal            # principal and interest fallen due and unpaid, after this event
    penalty_owed: Decimal       # penalty interest accrued and unpaid, after this event
    reference: str = ""
    channel: str = ""
    note: str = ""              # a reversal's reason

    @property
    def total_owed(self) -> Decimal:
        return self.overdue + self.penalty_owed


@dataclass(frozen=True)
class Statement:
    loan: Loan
    as_of: date
    schedule: list[ScheduleLine]
    events: list[Event]
    outstanding: Decimal         # what the loan page shows: everything still owed, penalty included
    principal_balance: Decimal
    on_time_rate: Decimal | None  # installments fallen due that were paid by their due date, in %
    longest_delay: int            # the most days an installment was (or is) late


def _fen(d: Decimal) -> int:
    return int((d * 100).to_integral_value())


def _yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def _segment(segments: list[loan_service.Segment], on: date) -> loan_service.Segment:
    """The schedule in force on ``on`` (a restructured loan ran on more than one)."""
    return next(s for s in segments if s.end is None or on < s.end)


def _replay(loan: Loan, payments: list[Repayment], as_of: date,
            segments: list[loan_service.Segment] | None = None,
            segment: loan_service.Segment | None = None) -> rp.Position:
    segment = segment or _segment(segments or loan_service.schedule_segments(loan), as_of)
    return rp.replay(segment.lines, [rp.Payment(r.id, r.paid_on, r.amount) for r in payments if segment.takes(r)],
                     penalty_rate=loan.penalty_rate, as_of=as_of, start=segment.start,
                     order=rp.validate_order(loan.allocation_order or ()))


def _balances(pos: rp.Position, on: date, rate: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    principal = sum(i.principal_due - i.principal_paid for i in pos.installments)
    overdue = sum(i.principal_due - i.principal_paid + i.interest_due - i.interest_paid
                  for i in pos.installments if i.due_date <= on)
    penalty = sum(max(i.penalty_due(rate), 0) for i in pos.installments)
    return _yuan(principal), _yuan(overdue), _yuan(penalty)


def build(loan: Loan, as_of: date) -> Statement:
    """The statement of ``loan`` on ``as_of`` (the business day; the loan page's position)."""
    standing = sorted((r for r in loan.repayments if r.reversed_at is None), key=lambda r: (r.paid_on, r.id))
    final = loan_service.position(loan, as_of)
    splits = loan_service.repayment_splits(loan, final)
    rate = loan.penalty_rate
    zero = Decimal("0.00")
    events: list[Event] = [Event(loan.disbursed_on, "disbursed", None, loan.principal, zero, zero, zero, zero, zero,
                                 loan.principal, zero, zero, loan.reference, loan.channel)]
    # (day, order within the day, …): an installment falls due before that day's repayments are taken.
    timeline: list[tuple[date, int, int, object]] = []
    segments = loan_service.schedule_segments(loan)
    for segment in segments:  # each schedule's due dates while it was in force
        for seq, due, principal, interest in segment.lines:
            if due <= as_of and (segment.end is None or due < segment.end):
                timeline.append((due, 0, seq, (seq, principal, interest)))
    for r in loan.repayments:
        if r.paid_on <= as_of:
            timeline.append((r.paid_on, 1, r.id, r))
    for segment in segments[1:]:  # a restructuring: after that day's repayments (they ran on the old schedule)
        if segment.start <= as_of:
            timeline.append((segment.start, 2, 0, segment))
    for on, order, _key, item in sorted(timeline, key=lambda t: (t[0], t[1], t[2])):
        if order == 0:
            before = [r for r in standing if r.paid_on < on]
            pos = _replay(loan, before, on, segments)
            principal, overdue, penalty = _balances(pos, on, rate)
            seq, due_principal, due_interest = item  # type: ignore[misc]
            events.append(Event(on, "due", seq, _yuan(_fen(due_principal) + _fen(due_interest)),
                                zero, due_interest, due_principal, zero, zero, principal, overdue, penalty))
            continue
        if order == 2:
            later = [r for r in standing if r.paid_on <= on]
            pos = _replay(loan, later, on, segments)
            principal, overdue, penalty = _balances(pos, on, rate)
            events.append(Event(on, "restructured", None, principal, zero, zero, zero, zero, zero, principal,
                                overdue, penalty))
            continue
        repayment: Repayment = item  # type: ignore[assignment]
        upto = [r for r in standing if (r.paid_on, r.id) <= (repayment.paid_on, repayment.id)]
        # The schedule the repayment was taken on (one taken on a restructuring's day, before it,
        # went to the old schedule).
        taken_on = next((s for s in segments if s.takes(repayment)), None) if repayment.reversed_at is None else None
        pos = _replay(loan, upto, on, segments, taken_on)
        principal, overdue, penalty = _balances(pos, on, rate)
        if repayment.reversed_at is not None:
            events.append(Event(on, "reversed", None, repayment.amount, zero, zero, zero, zero, zero, principal,
                                overdue, penalty, repayment.reference, repayment.channel, repayment.reversal_reason))
            continue
        split = splits[repayment.id]
        events.append(Event(on, "repayment", None, repayment.amount, split.penalty, split.interest, split.principal,
                            split.prepaid, split.unapplied, principal, overdue, penalty, repayment.reference,
                            repayment.channel))
    principal, overdue, penalty = _balances(final, as_of, rate)
    events.append(Event(as_of, "as_of", None, final.outstanding(rate), zero, zero, zero, zero, zero, principal,
                        overdue, penalty))
    schedule = _schedule(loan, final, as_of, _settled_on(final, standing))
    fallen_due = [s for s in schedule if s.due_date < as_of or s.paid_off_on is not None]
    on_time = sum(1 for s in fallen_due if s.state == "paid_on_time")
    rate_pct = (Decimal(on_time) * 100 / len(fallen_due)).quantize(Decimal("0.1")) if fallen_due else None
    return Statement(loan, as_of, schedule, events, final.outstanding(rate), principal, rate_pct,
                     max((s.days_late for s in schedule), default=0))


def _settled_on(pos: rp.Position, standing: list[Repayment]) -> dict[int, date]:
    """The day each installment's principal and interest were paid in full (penalty aside): the
    repayment whose allocation completed them, read in the order the replay took them."""
    owed = {i.seq: i.principal_due + i.interest_due for i in pos.installments}
    paid: dict[int, int] = {}
    found: dict[int, date] = {}
    for r in standing:
        for seq, component, fen in pos.allocations.get(r.id, ()):
            if component in ("penalty", "unapplied") or seq not in owed:
                continue
            paid[seq] = paid.get(seq, 0) + fen
            if seq not in found and paid[seq] >= owed[seq]:
                found[seq] = r.paid_on
    return found


def _schedule(loan: Loan, pos: rp.Position, as_of: date, settled_on: dict[int, date]) -> list[ScheduleLine]:
    rate = loan.penalty_rate
    lines = []
    for i in pos.installments:
        penalty_accrued = rp.penalty_from_basis(i.penalty_basis, rate)
        settled = i.principal_paid >= i.principal_due and i.interest_paid >= i.interest_due
        if settled:
            paid_on = settled_on.get(i.seq, i.paid_off_on or as_of)
            late = max((paid_on - i.due_date).days, 0)
            state, days = ("paid_late", late) if late else ("paid_on_time", 0)
        elif i.due_date < as_of:
            state, days = "overdue", (as_of - i.due_date).days
        elif i.due_date == as_of:
            state, days = "due_today", 0
        else:
            state, days = ("part_paid" if i.principal_paid or i.interest_paid else "not_due"), 0
        lines.append(ScheduleLine(i.seq, i.due_date, _yuan(i.principal_due), _yuan(i.interest_due),
                                  _yuan(i.principal_paid), _yuan(i.interest_paid), penalty_accrued,
                                  _yuan(i.penalty_paid), i.paid_off_on, state, days))
    return lines


COLUMNS = (("on", N_("Date"), "date"), ("event", N_("Event"), "text"), ("amount", N_("Amount"), "money"),
           ("penalty", N_("To penalty"), "money"), ("interest", N_("To interest"), "money"),
           ("principal", N_("To principal"), "money"), ("principal_balance", N_("Principal balance"), "money"),
           ("overdue", N_("Overdue principal and interest"), "money"), ("penalty_owed", N_("Penalty owed"), "money"),
           ("reference", N_("Reference"), "text"))


def event_label(event: Event, translate=lambda m: m) -> str:
    label = translate(EVENT_LABELS[event.kind])
    return label % {"seq": event.seq} if event.kind == "due" else label


def as_report(st: Statement):
    """The statement's events in the shape the exports write (``exports.audited_download``)."""
    from flask_babel import gettext

    from app.services import reporting

    loan = st.loan
    request = reporting.ReportRequest(name="statement", as_of=st.as_of,
                                      extra={"loan": loan.contract_no or f"#{loan.id}", "borrower": loan.borrower.name})
    columns = [reporting.Column(key, label, kind, key == "reference") for key, label, kind in COLUMNS]
    rows = ({"on": e.on, "event": event_label(e, gettext), "amount": e.amount, "penalty": e.penalty,
             "interest": e.interest, "principal": e.principal, "principal_balance": e.principal_balance,
             "overdue": e.overdue, "penalty_owed": e.penalty_owed, "reference": e.reference} for e in st.events)
    return reporting.Report(name="statement", title=N_("Loan statement"), request=request, columns=columns,
                            rows=rows)
