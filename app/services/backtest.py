"""The scorecard back-test (issue 18): how the product's CURRENT scorecard would have ranked the
institution's own past loans, against what happened to them.

**Which loans.** Every loan in the viewer's reach (the command line: the whole institution) of the
chosen product (or of every product), whatever its status today (active, closed, written off),
disbursed at least ``min_months`` months (default 12) before the as-of date: a younger loan has not
had its chance to default, and counting it as good would flatter the card. Those are counted as
``too_recent``, never silently dropped.

**Default = ever 90 days past due** by the as-of date. A loan's days past due on a day are the days
since its oldest installment due and not yet paid (app/domain/repayment.py); the worst it ever was is
therefore the largest, over its installments due before the as-of date, of (the day the installment
was paid off, or the as-of date if it was not by then) − its due date. ``Installment.paid_off_on`` is
the day the replay of the loan's standing repayments settled the installment (rewritten by every
repayment, back-dated one and reversal), so a loan repaid late in the past counts as late even though
it is current or closed today. A restructured loan's old installments were settled as they stood on
the restructuring day (their ``paid_off_on``), so the days late at the restructuring count; a
written-off loan's unpaid installments run to the as-of date. Computed in one correlated subquery per
loan (MAX over its installments, through the (loan_id, seq) index), read streamed.
Known limit: ``paid_off_on`` also waits for the installment's penalty; under the default allocation
order penalty is paid first, so this is the day principal and interest were paid; under an order
that pays penalty last it can be later.

**Scores.** Each loan's application's survey answers (``Application.survey_answers``) with the
borrower's age at disbursement go through ``scorecard.derive_facts`` and ``scorecard.score`` with the
product's current scorecard (its highest ``ScorecardVersion``, the shipped default while it has
none: :func:`current_cards`), loaded once per product. A loan whose application has no survey
answers (captured before the survey existed), or whose product's stored card no longer reads, is
counted in ``not_scorable`` by reason, and left out of the Gini, KS and bands.

The report is registered as ``scorecard_backtest`` in the query terminal's registry (screen, CSV/XLSX,
``flask report scorecard_backtest``); ``flask scorecard backtest`` prints the JSON of :func:`as_json`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Integer, cast, func, select

from app.domain import backtest as bt
from app.domain import scorecard as sc
from app.domain.i18n import N_
from app.domain.schedule import add_months
from app.extensions import db
from app.models import Application, Borrower, Installment, Loan, Product, User
from app.models.credit import ScorecardVersion
from app.services import reporting
from app.services.reporting import Column, Report, ReportRequest, ReportRequestError, ReportSpec

DEFAULT_DPD = 90
DEFAULT_MIN_MONTHS = 12
MAX_MIN_MONTHS = 120
NOT_SCORABLE_REASONS = ("no_answers", "no_scorecard", "bad_answers")
# (product_id, answers, age) -> score, or None when the loan cannot be scored.
Scorer = Callable[[int, Mapping[str, Any], int | None], int | None]


@dataclass
class Backtest:
    as_of: date
    min_months: int
    result: bt.Result
    not_scorable: dict[str, int]
    too_recent: int
    scorecards: dict[str, int | str] = field(default_factory=dict)  # product code → version used

    @property
    def not_scorable_total(self) -> int:
        return sum(self.not_scorable.values())


def _days(later, earlier):
    """Whole days from ``earlier`` to ``later`` in SQL (the two spellings the daily job uses)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return cast(func.julianday(later) - func.julianday(earlier), Integer)
    return func.datediff(later, earlier)


def _least(a, b):
    return func.min(a, b) if db.session.get_bind().dialect.name == "sqlite" else func.least(a, b)


def worst_days_past_due(as_of: date):
    """A loan's worst days past due up to ``as_of``: correlated to ``Loan`` (0 before any due date)."""
    settled = _least(func.coalesce(Installment.paid_off_on, as_of), as_of)
    return (select(func.coalesce(func.max(_days(settled, Installment.due_date)), 0))
            .where(Installment.loan_id == Loan.id, Installment.due_date < as_of)
            .correlate(Loan).scalar_subquery())


def current_cards(product_ids: Iterable[int]) -> dict[int, tuple[int | str, sc.Scorecard]]:
    """Each product's current scorecard with its version number: the highest ``ScorecardVersion``,
    read as the scoring service reads a stored card (``scoring.card_of``); a product that has none
    yet scores with the shipped default (what ``scoring.current_version`` would make its version 1
    — not written here: a report only reads), shown as version "default". A stored card that no
    longer reads leaves its product out (its loans are "no scorecard")."""
    from app.services import scoring

    ids = sorted(set(product_ids))
    if not ids:
        return {}
    latest = (select(ScorecardVersion.product_id, func.max(ScorecardVersion.version).label("v"))
              .where(ScorecardVersion.product_id.in_(ids)).group_by(ScorecardVersion.product_id).subquery())
    rows = db.session.scalars(select(ScorecardVersion)
                              .join(latest, (latest.c.product_id == ScorecardVersion.product_id)
                                    & (latest.c.v == ScorecardVersion.version))).all()
    cards: dict[int, tuple[int | str, sc.Scorecard]] = {}
    for row in rows:
        try:
            cards[row.product_id] = (row.version, scoring.card_of(row))
        except sc.ScorecardError:
            cards[row.product_id] = ("unreadable", None)
    default = sc.Scorecard.from_dict(sc.DEFAULT_SCORECARD)
    for product_id in ids:
        cards.setdefault(product_id, ("default", default))
    return cards


def age_on(birth: date | None, day: date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def run(viewer: User | None, *, as_of: date, product_id: int | None = None, office_ids: frozenset[int] | None = None,
        officer_id: int | None = None, edges: tuple[int, ...] = bt.DEFAULT_EDGES,
        min_months: int = DEFAULT_MIN_MONTHS, scorer: Scorer | None = None) -> Backtest:
    """The back-test over the loans in ``viewer``'s reach (None: all). ``scorer`` replaces the
    products' current scorecards (a test's random scorecard)."""
    request = ReportRequest(name="scorecard_backtest", as_of=as_of, office_ids=office_ids, officer_id=officer_id,
                            product_id=product_id)
    where = reporting.conditions(viewer, request, Loan)
    seasoned_by = add_months(as_of, -min_months)
    too_recent = db.session.scalar(select(func.count(Loan.id)).where(*where, Loan.disbursed_on > seasoned_by,
                                                                        Loan.disbursed_on <= as_of)) or 0
    product_ids = [product_id] if product_id is not None else list(db.session.scalars(select(Product.id)))
    cards = current_cards(product_ids) if scorer is None else {}
    codes = dict(db.session.execute(select(Product.id, Product.code)).tuples().all())
    worst = worst_days_past_due(as_of)
    q = (select(Loan.product_id, Loan.disbursed_on, Application.survey_answers, Borrower.birth_date, worst)
         .join(Application, Application.id == Loan.application_id)
         .join(Borrower, Borrower.id == Loan.borrower_id)
         .where(*where, Loan.disbursed_on <= seasoned_by)
         .order_by(Loan.id)
         .execution_options(yield_per=2000))
    pairs: list[tuple[int, bool]] = []
    not_scorable = dict.fromkeys(NOT_SCORABLE_REASONS, 0)
    for loan_product, disbursed_on, answers, birth, worst_dpd in db.session.execute(q):
        if not answers or not isinstance(answers, dict):
            not_scorable["no_answers"] += 1
            continue
        age = age_on(birth, disbursed_on)
        if scorer is not None:
            value = scorer(loan_product, answers, age)
            if value is None:
                not_scorable["no_scorecard"] += 1
                continue
        else:
            found = cards.get(loan_product)
            if found is None or found[1] is None:
                not_scorable["no_scorecard"] += 1
                continue
            try:
                value = sc.score(found[1], sc.derive_facts(answers, age=age)).score
            except (ValueError, TypeError, ArithmeticError):
                not_scorable["bad_answers"] += 1
                continue
        pairs.append((value, int(worst_dpd or 0) >= DEFAULT_DPD))
    return Backtest(as_of, min_months, bt.evaluate(pairs, edges), not_scorable, too_recent,
                    {codes.get(p, str(p)): v for p, (v, _card) in sorted(cards.items())})


# --- what the edges print ------------------------------------------------------------------------

def verdict_text(backtest: Backtest, translate: Callable[[str], str]) -> str:
    params = backtest.result.params
    return translate(backtest.result.message) % params


def _ratio(value) -> str | None:
    return None if value is None else str(bt.ratio(value))


def as_json(backtest: Backtest, translate: Callable[[str], str] = lambda s: s) -> dict[str, Any]:
    """``{"loans", "defaults", "gini", "ks", "bands": [...], "not_scorable", "verdict", …}``.

    Counts are JSON integers; every ratio and percentage is a decimal STRING (Gini and KS with four
    decimals, rates and shares as percentages with two), exact from fractions and rounded half-up,
    so nothing passes through a float; a figure that cannot be computed (no default, or no good) is
    null. ``verdict`` is the code (bt.VERDICTS), ``verdict_text`` its sentence in ``translate``'s
    language."""
    r = backtest.result
    return {
        "as_of": backtest.as_of.isoformat(),
        "min_months": backtest.min_months,
        "default_definition": f"ever {DEFAULT_DPD}+ days past due",
        "loans": r.loans,
        "defaults": r.defaults,
        "default_rate": str(r.default_rate),
        "gini": _ratio(r.gini),
        "gini_interval": None if r.gini_low is None else [str(r.gini_low), str(r.gini_high)],
        "ks": _ratio(r.ks),
        "ks_score": r.ks_score,
        "bands": [{"band": b.label, "min": b.low, "max": None if b.high is None else b.high - 1,
                   "loans": b.loans, "defaults": b.defaults, "default_rate": str(b.default_rate),
                   "share": str(b.share), "cum_loans": str(b.cum_loans), "cum_defaults": str(b.cum_defaults),
                   "cum_goods": str(b.cum_goods)} for b in r.bands],
        "not_scorable": backtest.not_scorable_total,
        "not_scorable_reasons": dict(backtest.not_scorable),
        "too_recent": backtest.too_recent,
        "scorecards": dict(backtest.scorecards),
        "verdict": r.verdict,
        "verdict_text": verdict_text(backtest, translate),
    }


TEXT_HEAD = N_("Scorecard back-test as of %(as_of)s")
TEXT_FIGURES = N_("Loans: %(loans)s  Defaults: %(defaults)s (%(rate)s%%)  Gini: %(gini)s  KS: %(ks)s")
TEXT_APART = N_("Not scorable: %(not_scorable)s  Too recent: %(too_recent)s")


def as_text(backtest: Backtest, translate: Callable[[str], str] = lambda s: s) -> str:
    """The same for a person at the console: the figures, the band table, the verdict."""
    data = as_json(backtest, translate)
    t = translate
    lines = [
        t(TEXT_HEAD) % {"as_of": data["as_of"]},
        t(TEXT_FIGURES) % {"loans": data["loans"], "defaults": data["defaults"], "rate": data["default_rate"],
                           "gini": data["gini"] or "-", "ks": data["ks"] or "-"},
        t(TEXT_APART) % {"not_scorable": data["not_scorable"], "too_recent": data["too_recent"]},
        "",
        "\t".join(t(c.label) for c in COLUMNS),
    ]
    for b in data["bands"]:
        lines.append("\t".join([b["band"], str(b["loans"]), str(b["defaults"]), b["default_rate"] + "%",
                                b["share"] + "%", b["cum_loans"] + "%", b["cum_defaults"] + "%", b["cum_goods"] + "%"]))
    lines += ["", data["verdict_text"]]
    return "\n".join(lines)


# --- the query terminal's report -----------------------------------------------------------------

TITLE = N_("Scorecard back-test")
DEFINITION_NOTE = N_("Each past loan scored by its product's current scorecard from its application's survey "
                     "answers; default = ever 90 or more days past due by the as-of date. Only loans disbursed at "
                     "least %(months)s months before the as-of date count. A higher score means a lower risk; bands "
                     "run from the lowest score, and the cumulative shares add up from there.")
FIGURES_NOTE = N_("Loans: %(loans)s, defaulted: %(defaults)s (%(rate)s%%). Gini: %(gini)s, KS: %(ks)s. "
                  "Not scorable: %(not_scorable)s (no survey answers: %(no_answers)s, no scorecard: "
                  "%(no_scorecard)s, answers that cannot be scored: %(bad_answers)s). Too recent: %(too_recent)s.")
COLUMNS = [Column("band", N_("Score band")), Column("loans", N_("Loans"), "int"),
           Column("defaults", N_("Defaults"), "int"), Column("default_rate", N_("Default rate"), "percent"),
           Column("share", N_("Share of loans"), "percent"),
           Column("cum_loans", N_("Cumulative share of loans"), "percent"),
           Column("cum_defaults", N_("Cumulative share of defaults"), "percent"),
           Column("cum_goods", N_("Cumulative share of good loans"), "percent")]


def options(extra: Mapping[str, str]) -> tuple[tuple[int, ...], int]:
    """The report's own filters: ``bands`` (edges, e.g. "50,60,70,80,90") and ``min_months``."""
    edges = bt.DEFAULT_EDGES
    raw = (extra.get("bands") or "").strip()
    if raw:
        try:
            edges = bt.parse_edges(raw[:300])
        except bt.BandError:
            raise ReportRequestError("bad_bands", N_("Score bands are whole numbers in increasing order, "
                                                     "separated by commas (e.g. 50,60,70,80,90).")) from None
    months = DEFAULT_MIN_MONTHS
    raw = (extra.get("min_months") or "").strip()
    if raw:
        if not raw.isdigit() or not 0 <= int(raw) <= MAX_MIN_MONTHS:
            raise ReportRequestError("bad_min_months", N_("The minimum age of a loan is a whole number of months "
                                                          "from 0 to %(max)s."), max=MAX_MIN_MONTHS)
        months = int(raw)
    return edges, months


def build(viewer: User | None, request: ReportRequest) -> Report:
    edges, months = options(request.extra)
    backtest = run(viewer, as_of=request.as_of, product_id=request.product_id, office_ids=request.office_ids,
                   officer_id=request.officer_id, edges=edges, min_months=months)
    translate = reporting.translator()
    r = backtest.result
    rows = [{"band": b.label, "loans": b.loans, "defaults": b.defaults, "default_rate": b.default_rate,
             "share": b.share, "cum_loans": b.cum_loans, "cum_defaults": b.cum_defaults, "cum_goods": b.cum_goods}
            for b in r.bands]
    totals = {"loans": r.loans, "defaults": r.defaults, "default_rate": r.default_rate}
    figures = translate(FIGURES_NOTE) % {
        "loans": r.loans, "defaults": r.defaults, "rate": r.default_rate, "gini": _ratio(r.gini) or "-",
        "ks": _ratio(r.ks) or "-", "not_scorable": backtest.not_scorable_total, **backtest.not_scorable,
        "too_recent": backtest.too_recent}
    notes = [verdict_text(backtest, translate), figures, translate(DEFINITION_NOTE) % {"months": months}]
    return Report("scorecard_backtest", TITLE, request, list(COLUMNS), rows, totals, notes)


reporting.register(ReportSpec(
    "scorecard_backtest", TITLE, build, by=(),
    description=N_("How the current scorecard would have ranked past loans against what happened: "
                   "default rate per score band, Gini, KS and a verdict.")))
