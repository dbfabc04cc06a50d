"""The scorecard back-test's arithmetic (issue 18): how well scores ranked loans against what happened.

Pure: the input is one ``(score, defaulted)`` pair per loan; no database, no Flask.

**Which way round.** A scorecard gives a HIGHER score to a LOWER risk. So the scorecard ranks well
when the loans that did not default (the goods) score higher than those that did (the bads):

- AUC = P(score of a random good > score of a random bad) + ½ P(the two scores are equal);
- Gini = 2·AUC − 1, in [−1, 1]: 1 every good scores above every bad, 0 no better than chance (a
  constant score gives exactly 0: every pair is a tie), −1 every bad scores above every good (the
  card ranks backwards).
- KS = the largest distance, over every score threshold t, between the share of bads scoring ≤ t and
  the share of goods scoring ≤ t (both distributions evaluated after all loans of a score), in [0, 1].

Both are computed exactly with ``fractions.Fraction`` from the counts of goods and bads at each
distinct score (ties handled exactly, nothing sampled), so they depend on the scores' order only: a
strictly increasing transform of the scores changes neither. They are shown rounded half-up to four
decimals (``RATIO_PLACES``); rates and shares as percentages rounded half-up to two decimals.

**The verdict** says in words whether the card can be trusted on this history:
``insufficient`` (fewer than ``MIN_DEFAULTS`` defaults or ``MIN_GOODS`` goods: nothing can be told),
``reversed`` (Gini clearly below 0), ``no_ranking`` (Gini not clearly above 0, or below
``WEAK_GINI``), ``weak`` (clearly above 0 but below ``GOOD_GINI``), ``ranks``. "Clearly" means the
lower end of the Gini's 95 % interval (±1.96 standard errors, Hanley & McNeil 1982's standard error
of the AUC, doubled) is above 0; that interval is computed in Decimal with 28 digits.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from app.domain.i18n import N_

RATIO_PLACES = Decimal("0.0001")
PERCENT_PLACES = Decimal("0.01")
# Below this many defaults (or goods) no Gini says anything: the interval spans everything.
MIN_DEFAULTS = 30
MIN_GOODS = 30
WEAK_GINI = Fraction(1, 10)   # below: no useful ranking even when "significant"
GOOD_GINI = Fraction(3, 10)   # at or above (and clearly above 0): the card ranks
Z95 = Decimal("1.96")
# The default score bands: <50, 50–59, 60–69, 70–79, 80–89, ≥90 (scores are whole points).
DEFAULT_EDGES: tuple[int, ...] = (50, 60, 70, 80, 90)

VERDICTS = ("insufficient", "reversed", "no_ranking", "weak", "ranks")
VERDICT_MESSAGES = {
    "insufficient": N_("Too few loans to judge the scorecard: %(defaults)s defaulted and %(goods)s did not; "
                       "at least %(min_defaults)s of each are needed before a Gini means anything. "
                       "Do not rely on these figures."),
    "reversed": N_("The scorecard ranks these loans backwards: loans that defaulted scored higher than those "
                   "that did not (Gini %(gini)s). Its scores must not be used for decisions as it stands."),
    "no_ranking": N_("The scorecard does not rank these loans better than chance: Gini %(gini)s is not clearly "
                     "above 0 (95%% interval %(low)s to %(high)s). Its scores must not be used for decisions "
                     "as it stands."),
    "weak": N_("The scorecard ranks these loans only weakly: Gini %(gini)s (95%% interval %(low)s to %(high)s) "
               "is above 0 but below %(good)s. Use the score as one input among others."),
    "ranks": N_("The scorecard ranks these loans: Gini %(gini)s (95%% interval %(low)s to %(high)s), KS %(ks)s. "
                "Loans that defaulted scored clearly lower than those that did not."),
}


class BandError(ValueError):
    """Band edges that are not strictly increasing whole numbers."""


def ratio(value: Fraction) -> Decimal:
    """A ratio shown with four decimals, rounded half-up (exact from the fraction)."""
    return _round(value, RATIO_PLACES)


def percent(part: int, whole: int) -> Decimal:
    """``part`` as a percentage of ``whole``, two decimals half-up; 0.00 of nothing."""
    if not whole:
        return Decimal("0.00")
    return _round(Fraction(part * 100, whole), PERCENT_PLACES)


def _round(value: Fraction, places: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(places, rounding=ROUND_HALF_UP)


def _counts(pairs: Iterable[tuple[int, bool]]) -> list[tuple[int, int, int]]:
    """(score, goods, bads) per distinct score, lowest score first."""
    by_score: dict[int, list[int]] = {}
    for score, defaulted in pairs:
        cell = by_score.setdefault(score, [0, 0])
        cell[1 if defaulted else 0] += 1
    return [(s, g, b) for s, (g, b) in sorted(by_score.items())]


def auc(counts: Sequence[tuple[int, int, int]]) -> Fraction | None:
    """P(good scores above bad) + ½ P(tie); None without a good or without a bad."""
    goods = sum(g for _, g, _ in counts)
    bads = sum(b for _, _, b in counts)
    if not goods or not bads:
        return None
    below = 0  # bads scoring below the current score
    twice = 0  # 2 × (pairs good above bad) + pairs tied
    for _, g, b in counts:
        twice += g * (2 * below + b)
        below += b
    return Fraction(twice, 2 * goods * bads)


def gini_of(counts: Sequence[tuple[int, int, int]]) -> Fraction | None:
    a = auc(counts)
    return None if a is None else 2 * a - 1


def ks_of(counts: Sequence[tuple[int, int, int]]) -> tuple[Fraction, int | None] | None:
    """The KS distance and the score at which it is reached (the lowest such); None without both."""
    goods = sum(g for _, g, _ in counts)
    bads = sum(b for _, _, b in counts)
    if not goods or not bads:
        return None
    best, at = Fraction(0), None
    cum_g = cum_b = 0
    for score, g, b in counts:
        cum_g += g
        cum_b += b
        d = abs(Fraction(cum_b, bads) - Fraction(cum_g, goods))
        if d > best:
            best, at = d, score
    return best, at


def gini_interval(a: Fraction, goods: int, bads: int) -> tuple[Decimal, Decimal]:
    """The Gini's 95 % interval from the AUC's standard error (Hanley & McNeil), clipped to [−1, 1]."""
    q1 = a / (2 - a)
    q2 = 2 * a * a / (1 + a)
    var = (a * (1 - a) + (goods - 1) * (q1 - a * a) + (bads - 1) * (q2 - a * a)) / (goods * bads)
    with localcontext() as ctx:
        ctx.prec = 28
        v = Decimal(var.numerator) / Decimal(var.denominator)
        se = 2 * (v.sqrt() if v > 0 else Decimal(0))
        g = Decimal((2 * a - 1).numerator) / Decimal((2 * a - 1).denominator)
        low, high = max(g - Z95 * se, Decimal(-1)), min(g + Z95 * se, Decimal(1))
    return low.quantize(RATIO_PLACES, rounding=ROUND_HALF_UP), high.quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)


# --- bands -------------------------------------------------------------------------------------

def _signed(score: int | None) -> str:
    return f"−{-score}" if score is not None and score < 0 else str(score)


@dataclass(frozen=True)
class Band:
    low: int | None    # inclusive; None: no lower end
    high: int | None   # exclusive; None: no upper end

    @property
    def label(self) -> str:
        """"<50", "50–59", "≥90"; a negative score with a true minus sign ("−10–−1"), which a
        hyphen beside the range's dash would not read as."""
        if self.low is None:
            return f"<{_signed(self.high)}"
        if self.high is None:
            return f"≥{_signed(self.low)}"
        return f"{_signed(self.low)}–{_signed(self.high - 1)}"

    def holds(self, score: int) -> bool:
        return (self.low is None or score >= self.low) and (self.high is None or score < self.high)


def bands_from_edges(edges: Sequence[int]) -> tuple[Band, ...]:
    """Edges (50, 60, 70) → <50, 50–59, 60–69, ≥70. Refused unless strictly increasing whole numbers."""
    edges = tuple(edges)
    if not edges or any(not isinstance(e, int) or isinstance(e, bool) for e in edges):
        raise BandError("band edges must be whole numbers")
    if any(b <= a for a, b in zip(edges, edges[1:])):
        raise BandError("band edges must be strictly increasing")
    lows = (None, *edges)
    highs = (*edges, None)
    return tuple(Band(lo, hi) for lo, hi in zip(lows, highs))


def parse_edges(text: str) -> tuple[int, ...]:
    """"50,60,70" → (50, 60, 70); BandError for anything else."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        edges = tuple(int(p) for p in parts)
    except ValueError:
        raise BandError("band edges must be whole numbers") from None
    if len(edges) > 50:
        raise BandError("at most 50 band edges")
    bands_from_edges(edges)
    return edges


@dataclass(frozen=True)
class BandRow:
    label: str
    low: int | None
    high: int | None
    loans: int
    defaults: int
    default_rate: Decimal      # % of the band's loans, two decimals
    share: Decimal             # % of all loans in this band
    cum_loans: Decimal         # % of all loans in this band and every lower-scoring band
    cum_defaults: Decimal      # % of all defaults in this band and every lower-scoring band
    cum_goods: Decimal         # % of all goods in this band and every lower-scoring band


def band_table(pairs: Sequence[tuple[int, bool]], edges: Sequence[int] = DEFAULT_EDGES) -> list[BandRow]:
    """Loans and defaults per score band, lowest scores (highest risk) first, with cumulative shares
    from the low end: what share of all defaults a cut-off at the band's top would have refused."""
    bands = bands_from_edges(edges)
    loans = [0] * len(bands)
    bads = [0] * len(bands)
    for score, defaulted in pairs:
        k = next(i for i, band in enumerate(bands) if band.holds(score))
        loans[k] += 1
        bads[k] += 1 if defaulted else 0
    total, total_bad = sum(loans), sum(bads)
    total_good = total - total_bad
    rows: list[BandRow] = []
    cum_l = cum_b = 0
    for band, n, b in zip(bands, loans, bads):
        cum_l += n
        cum_b += b
        rows.append(BandRow(band.label, band.low, band.high, n, b, percent(b, n), percent(n, total),
                            percent(cum_l, total), percent(cum_b, total_bad), percent(cum_l - cum_b, total_good)))
    return rows


# --- the whole result --------------------------------------------------------------------------

@dataclass(frozen=True)
class Result:
    loans: int
    defaults: int
    gini: Fraction | None
    ks: Fraction | None
    ks_score: int | None          # the score at which KS is reached
    gini_low: Decimal | None      # 95 % interval
    gini_high: Decimal | None
    bands: list[BandRow]
    verdict: str                  # one of VERDICTS
    message: str                  # N_() English, VERDICT_MESSAGES[verdict]
    params: dict[str, object]     # the message's parameters (figures as strings)

    @property
    def goods(self) -> int:
        return self.loans - self.defaults

    @property
    def default_rate(self) -> Decimal:
        return percent(self.defaults, self.loans)


def verdict(gini: Fraction | None, low: Decimal | None, high: Decimal | None, goods: int, bads: int,
            ks: Fraction | None = None) -> tuple[str, dict[str, object]]:
    """The verdict's code and its message's parameters."""
    params: dict[str, object] = {"defaults": bads, "goods": goods, "min_defaults": MIN_DEFAULTS,
                                 "good": str(ratio(GOOD_GINI))}
    if gini is not None:
        params.update(gini=str(ratio(gini)), low=str(low), high=str(high),
                      ks=str(ratio(ks)) if ks is not None else "")
    if gini is None or bads < MIN_DEFAULTS or goods < MIN_GOODS:
        return "insufficient", params
    if high is not None and high < 0:
        return "reversed", params
    if low is None or low <= 0 or gini < WEAK_GINI:
        return "no_ranking", params
    if gini < GOOD_GINI:
        return "weak", params
    return "ranks", params


def evaluate(pairs: Sequence[tuple[int, bool]], edges: Sequence[int] = DEFAULT_EDGES) -> Result:
    """Gini, KS, the band table and the verdict of ``(score, defaulted)`` pairs."""
    pairs = [(int(s), bool(d)) for s, d in pairs]
    counts = _counts(pairs)
    bads = sum(b for _, _, b in counts)
    goods = len(pairs) - bads
    a = auc(counts)
    gini = None if a is None else 2 * a - 1
    ks_found = ks_of(counts)
    ks, ks_score = ks_found if ks_found is not None else (None, None)
    low = high = None
    if a is not None:
        low, high = gini_interval(a, goods, bads)
    code, params = verdict(gini, low, high, goods, bads, ks)
    return Result(len(pairs), bads, gini, ks, ks_score, low, high, band_table(pairs, edges), code,
                  VERDICT_MESSAGES[code], params)
