"""Restructuring and extension (重组 / 展期) of a loan the borrower cannot repay as agreed. Pure.

- An **extension** (展期) keeps the repayment method and gives the remaining principal a longer
  term; a **restructuring** (重组) may also change the method, add a grace period (interest only
  for the first months) and capitalise the unpaid interest into the principal.
- What the borrower owes on the effective day is split: principal still owed goes into the new
  schedule; interest earned and unpaid (past installments, and the current period up to that
  day) and unpaid penalty are either capitalised (added to the principal) or carried (owed with
  the first new installment, already earned, never accrued again).
- The old installments are kept for history, settled by the restructuring: each keeps what was
  paid on it. Repayments before the effective day keep their allocation; the replay of the loan
  starts again at the effective day with the new schedule.
- Who approves is data, like the applications' routing (``RestructureRules``): first-level review
  always, second-level and special review when the rules say so, with the reasons stored.
- Limits per product: how many restructurings a loan may have, how many months past its original
  maturity it may be extended; the loan's classification is held at a floor for some months.
"""
from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

from app.domain import loan_books
from app.domain.i18n import N_
from app.domain.repayment import CLASSES
from app.domain.routing import rules_to_dict
from app.domain.schedule import Line, ScheduleError, ScheduleRequest, build_schedule

KINDS: dict[str, str] = {
    "extension": N_("Extension (展期)"),
    "restructure": N_("Restructuring (重组)"),
}
REASONS: dict[str, str] = {
    "harvest_failure": N_("Harvest failure"),
    "illness": N_("Illness in the family"),
    "disaster": N_("Natural disaster"),
    "market": N_("Prices collapsed"),
    "other": N_("Other"),
}
STATUSES: dict[str, str] = {
    "pending": N_("Waiting for a decision"),
    "approved": N_("Approved and applied"),
    "refused": N_("Refused"),
    "withdrawn": N_("Withdrawn"),
}
LEVELS: dict[str, str] = {
    "l1": N_("First-level review"),
    "l2": N_("Second-level review"),
    "special": N_("Special review"),
}
MAX_GRACE_MONTHS = 12


class RestructureRulesError(ValueError):
    def __init__(self, message: str, params: Mapping[str, object] | None = None) -> None:
        self.message, self.params = message, dict(params or {})
        super().__init__(message % self.params if self.params else message)


@dataclass(frozen=True)
class RestructureRules:
    """A product's rules for restructuring: limits, who approves, the classification floor."""

    max_count: int = 1  # restructurings and extensions a loan may have, together
    max_extension_months: int = 12  # the new maturity at most this far past the original one
    l2_principal_over: Decimal | None = Decimal("50000")  # principal owed above this -> second level
    l2_from_count: int | None = 2  # the n-th restructuring of a loan onwards -> second level
    special_capitalise: bool = True  # capitalising interest -> special review
    special_restructure: bool = False  # any restructuring (not a plain extension) -> special review
    class_floor: str = "special_mention"  # the class a restructured loan keeps at least …
    floor_months: int = 6  # … for this many months

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> RestructureRules:
        raw = dict(raw or {})
        unknown = set(raw) - {f.name for f in fields(cls)}
        if unknown:
            raise RestructureRulesError(N_("Unknown restructuring rule: %(rule)s."), {"rule": ", ".join(sorted(unknown))})
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in raw:
                continue
            value = raw[f.name]
            if f.name == "l2_principal_over":
                try:
                    amount = None if value in (None, "") else Decimal(str(value))
                except ArithmeticError:
                    amount = Decimal(-1)
                if amount is not None and (not amount.is_finite() or amount < 0):
                    raise RestructureRulesError(N_("%(rule)s must be an amount in yuan."), {"rule": f.name})
                values[f.name] = amount
            elif f.name in ("max_count", "max_extension_months", "l2_from_count", "floor_months"):
                if value in (None, "") and f.name == "l2_from_count":
                    values[f.name] = None
                    continue
                if isinstance(value, bool) or not str(value).isdigit():
                    raise RestructureRulesError(N_("%(rule)s must be a whole number."), {"rule": f.name})
                values[f.name] = int(value)
            elif f.name == "class_floor":
                if value not in CLASSES:
                    raise RestructureRulesError(N_("Unknown class: %(value)s."), {"value": value})
                values[f.name] = value
            else:
                values[f.name] = bool(value)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return rules_to_dict(self)


@dataclass(frozen=True)
class Terms:
    kind: str
    reason: str
    note: str
    term_months: int  # the new schedule's term from the effective day
    method: str
    grace_months: int
    capitalise: bool


@dataclass(frozen=True)
class LoanFacts:
    status: str
    method: str
    frequency: str
    original_maturity: date
    restructure_count: int
    principal_owed: int  # fen
    days_past_due: int


def levels_needed(rules: RestructureRules, terms: Terms, facts: LoanFacts) -> list[tuple[str, str, dict]]:
    """The review levels a request needs beyond the first, each with its reason (N_ and params)."""
    out: list[tuple[str, str, dict]] = []
    if rules.l2_principal_over is not None and Decimal(facts.principal_owed) / 100 > rules.l2_principal_over:
        out.append(("l2", N_("Principal owed above %(limit)s yuan."), {"limit": f"{rules.l2_principal_over:,.2f}"}))
    elif rules.l2_from_count is not None and facts.restructure_count + 1 >= rules.l2_from_count:
        out.append(("l2", N_("Restructuring number %(count)s of this loan."), {"count": facts.restructure_count + 1}))
    if rules.special_capitalise and terms.capitalise:
        out.append(("special", N_("Unpaid interest is to be capitalised."), {}))
    elif rules.special_restructure and terms.kind == "restructure":
        out.append(("special", N_("A restructuring, not a plain extension."), {}))
    return out


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def check_terms(terms: Terms, facts: LoanFacts, rules: RestructureRules, *, effective_on: date,
                methods: Sequence[str]) -> dict[str, tuple[str, dict]]:
    """What is wrong with a request (field → N_ message and parameters); empty when it may go ahead."""
    errors: dict[str, tuple[str, dict]] = {}
    if facts.status != "active":
        errors["kind"] = (N_("Only an active loan can be extended or restructured; this one is %(status)s."),
                          {"status": facts.status})
        return errors
    if terms.kind not in KINDS:
        errors["kind"] = (N_("Choose an extension or a restructuring."), {})
    if terms.reason not in REASONS:
        errors["reason"] = (N_("Choose the reason."), {})
    if not terms.note.strip():
        errors["note"] = (N_("Describe what happened (e.g. the hail of 12 June destroyed the maize)."), {})
    elif len(terms.note) > 300:
        errors["note"] = (N_("At most %(limit)s characters."), {"limit": 300})
    if facts.restructure_count >= rules.max_count:
        errors["kind"] = (N_("This loan has been restructured %(count)s time(s); the loan type allows %(limit)s."),
                          {"count": facts.restructure_count, "limit": rules.max_count})
    if facts.frequency == "custom":
        errors["kind"] = (N_("A loan repaid on agreed dates (e.g. after the harvest) is extended by a new agreed date; "
                             "this screen handles monthly and quarterly loans."), {})
    if facts.principal_owed <= 0:
        errors["kind"] = (N_("No principal is owed on this loan; there is nothing to reschedule."), {})
    if terms.method not in methods:
        errors["method"] = (N_("Choose a repayment method."), {})
    elif terms.kind == "extension" and terms.method != facts.method:
        errors["method"] = (N_("An extension keeps the repayment method; choose a restructuring to change it."), {})
    if terms.kind == "extension" and (terms.grace_months or terms.capitalise):
        errors["grace_months"] = (N_("An extension has no grace period and capitalises nothing; choose a restructuring."), {})
    if not 0 <= terms.grace_months <= MAX_GRACE_MONTHS:
        errors["grace_months"] = (N_("The grace period is 0 to %(max)s months."), {"max": MAX_GRACE_MONTHS})
    if terms.term_months < 1 or terms.term_months > 120:
        errors["term_months"] = (N_("The new term is 1 to 120 months."), {})
    elif terms.grace_months >= terms.term_months:
        errors["grace_months"] = (N_("The grace period must be shorter than the new term."), {})
    else:
        new_maturity = add_months(effective_on, terms.term_months)
        latest = add_months(facts.original_maturity, rules.max_extension_months)
        if new_maturity > latest:
            errors["term_months"] = (
                N_("The new maturity %(new)s is past %(latest)s, the latest the loan type allows "
                   "(%(months)s months after the original maturity)."),
                {"new": new_maturity.isoformat(), "latest": latest.isoformat(), "months": rules.max_extension_months})
        if terms.kind == "extension" and new_maturity <= facts.original_maturity:
            errors["term_months"] = (N_("An extension ends after the original maturity %(date)s."),
                                     {"date": facts.original_maturity.isoformat()})
    return errors


@dataclass(frozen=True)
class OldInstallment:
    seq: int
    due_date: date
    accrues_from: date
    principal_due: int
    principal_paid: int
    interest_due: int
    interest_paid: int
    interest_carried: int
    penalty_accrued: int
    penalty_paid: int
    settled: bool


@dataclass(frozen=True)
class Carry:
    principal: int  # principal owed, into the new schedule
    interest: int  # interest earned and unpaid up to the effective day
    penalty: int  # penalty unpaid


def carry(installments: Sequence[OldInstallment], on: date) -> Carry:
    """What the old schedule leaves owed on ``on``: principal, interest earned (past periods in full,
    the current one pro rata to that day) and penalty, each unpaid."""
    principal = interest = penalty = 0
    for i in installments:
        if i.settled:
            continue
        principal += i.principal_due - i.principal_paid
        penalty += max(i.penalty_accrued - i.penalty_paid, 0)
        if i.due_date <= on:
            earned = i.interest_due
        else:
            earned = loan_books.accrued_by_time(i.interest_due, i.interest_carried, (on - i.accrues_from).days,
                                                (i.due_date - i.accrues_from).days)
        interest += max(earned - i.interest_paid, 0)
    return Carry(principal, interest, penalty)


def new_schedule(principal: Decimal, *, annual_rate: Decimal, term_months: int, grace_months: int, method: str,
                 start: date, frequency: str, day_count: str, first_seq: int) -> tuple[Line, ...]:
    """The new schedule from ``start``: ``grace_months`` of interest only, then ``method`` over the
    rest of the term; seqs numbered on from ``first_seq``."""
    lines: list[Line] = []
    if grace_months:
        grace = build_schedule(ScheduleRequest(principal=principal, annual_rate=annual_rate, term_months=grace_months,
                                               method="interest_only", start=start, frequency="monthly",
                                               day_count=day_count))
        # Interest only: the principal is not repaid in the grace period (the last line would).
        for line in grace.lines:
            lines.append(Line(line.seq, line.due_date, Decimal("0"), line.interest, line.interest, principal))
        start = grace.lines[-1].due_date
    rest = build_schedule(ScheduleRequest(principal=principal, annual_rate=annual_rate,
                                          term_months=term_months - grace_months, method=method, start=start,
                                          frequency=frequency, day_count=day_count))
    lines.extend(rest.lines)
    return tuple(Line(first_seq + k, line.due_date, line.principal, line.interest, line.total, line.balance)
                 for k, line in enumerate(lines))


def floor_class(classification: str, floor: str | None) -> str:
    """The worse of a loan's class and its floor (a restructured loan stays at least at the floor)."""
    if floor not in CLASSES or classification not in CLASSES:
        return classification
    return max(classification, floor, key=CLASSES.index)


__all__ = ["Carry", "floor_class", "KINDS", "LEVELS", "LoanFacts", "OldInstallment", "REASONS", "RestructureRules",
           "RestructureRulesError", "STATUSES", "ScheduleError", "Terms", "add_months", "carry", "check_terms", "levels_needed",
           "new_schedule"]
