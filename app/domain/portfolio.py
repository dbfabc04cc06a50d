"""Portfolio at risk and ageing: the buckets of days past due every report and snapshot shares.

PAR-n is the outstanding principal of the loans *more than* n days past due; PAR1 is any day past
due (more than 0). Ageing buckets are 1–30, 31–60, 61–90, 91–180 and over 180 days. The snapshot
keeps loans in the finest buckets both need (``DPD_BUCKETS``), so every PAR figure and every ageing
bucket is a sum of whole snapshot buckets, and PAR buckets are nested by construction.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


# (first day, last day or None) of each snapshot bucket; index = PortfolioSnapshot.dpd_bucket.
DPD_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (0, 0), (1, 7), (8, 30), (31, 60), (61, 90), (91, 180), (181, None),
)
PAR_DAYS: tuple[int, ...] = (1, 7, 30, 60, 90, 180)
AGEING: tuple[tuple[int, int | None], ...] = ((1, 30), (31, 60), (61, 90), (91, 180), (181, None))


def bucket_of(days_past_due: int) -> int:
    """The snapshot bucket (an index into ``DPD_BUCKETS``) of a loan this many days past due."""
    if days_past_due < 0:
        raise ValueError("days past due cannot be negative")
    for index, (_first, last) in enumerate(DPD_BUCKETS):
        if last is None or days_past_due <= last:
            return index
    raise AssertionError("unreachable")  # the last bucket is open-ended


def par_threshold(days: int) -> int:
    """The first days-past-due count PAR-``days`` includes: more than ``days`` (PAR1: 1 or more)."""
    return 1 if days == 1 else days + 1


def buckets_from(first_day: int) -> tuple[int, ...]:
    """The bucket indexes holding exactly the loans ``first_day`` or more days past due."""
    found = tuple(i for i, (first, _last) in enumerate(DPD_BUCKETS) if first >= first_day)
    if not found or DPD_BUCKETS[found[0]][0] != first_day:
        raise ValueError(f"no bucket starts at {first_day}")
    return found


def par_buckets(days: int) -> tuple[int, ...]:
    return buckets_from(par_threshold(days))


def ageing_buckets(first: int, last: int | None) -> tuple[int, ...]:
    """The bucket indexes that make up one ageing bucket."""
    return tuple(i for i, (f, l) in enumerate(DPD_BUCKETS)
                 if f >= first and (last is None or (l is not None and l <= last)))


@dataclass(frozen=True)
class Amounts:
    """Loans and their outstanding principal in fen, summed over some buckets."""

    loans: int = 0
    principal_fen: int = 0

    def __add__(self, other: Amounts) -> Amounts:
        return Amounts(self.loans + other.loans, self.principal_fen + other.principal_fen)


def par_and_ageing(by_bucket: Mapping[int, Amounts]) -> dict[str, Amounts]:
    """From amounts per snapshot bucket: ``total``, ``par1`` … ``par180`` and ``age_1_30`` …
    ``age_181_``, each a sum of whole buckets."""
    def over(indexes: tuple[int, ...]) -> Amounts:
        total = Amounts()
        for index in indexes:
            total = total + by_bucket.get(index, Amounts())
        return total

    result = {"total": over(tuple(range(len(DPD_BUCKETS))))}
    for days in PAR_DAYS:
        result[f"par{days}"] = over(par_buckets(days))
    for first, last in AGEING:
        result[f"age_{first}_{last or ''}"] = over(ageing_buckets(first, last))
    return result
