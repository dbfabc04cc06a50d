"""Speed of the scorecard (issue 18: at least 10,000 applications scored per second): the pure
functions of app/domain/scorecard.py on N generated households, against baselines measured in
the same run on the same answers — checking the answers against the default survey
(``survey.check_answers``, which every stored answer set went through) and the review routing
(``routing.evaluate``), the pure work the server already does per application.

    .venv/bin/python bench/scoring.py [--n 20000] [--rounds 5]

No database. Prints, per step, applications per second of CPU time (best and median of the rounds)
and of wall time (median), and the load average of the (shared) machine before and after.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.domain import routing, survey  # noqa: E402
from app.domain import scorecard as sc  # noqa: E402


def household(rng: random.Random) -> dict[str, object]:
    """Plausible answers to the default survey, some optional ones left out."""
    members = rng.randint(1, 9)
    answers: dict[str, object] = {
        "members": str(members),
        "labourers": str(rng.randint(0, members)),
        "land_mu": f"{rng.uniform(0, 40):.1f}",
        "main_crops": rng.choice(["玉米", "水稻", "小麦、大豆", "蔬菜"]),
        "livestock_heads": str(rng.randint(0, 30)),
        "crop_income": f"{rng.randint(0, 80000)}.00",
        "livestock_income": f"{rng.randint(0, 40000)}.00",
        "wage_income": f"{rng.randint(0, 60000)}.00",
        "living_expenses": f"{rng.randint(3000, 30000)}.00",
        "production_expenses": f"{rng.randint(0, 20000)}.00",
        "house_type": rng.choice(["brick_concrete", "brick_wood", "earth"]),
        "house_value": f"{rng.randint(20000, 400000)}.00",
        "has_vehicle": rng.random() < 0.4,
        "formal_debt": f"{rng.choice([0, 0, 10000, 30000, 80000])}.00",
        "informal_debt": f"{rng.choice([0, 0, 0, 5000, 20000])}.00",
        "yearly_debt_service": f"{rng.randint(0, 15000)}.00",
        "years_in_village": str(rng.randint(0, 60)),
        "committee_rating": rng.choice(["excellent", "good", "good", "fair", "poor"]),
    }
    if rng.random() < 0.3:
        answers["business_income"] = f"{rng.randint(0, 100000)}.00"
    if rng.random() < 0.1:
        del answers["committee_rating"]
    return answers


def rate(label: str, work: Callable[[], None], n: int, rounds: int) -> float:
    """Applications per second of CPU time (the machine is shared: its wall time depends on the
    others' load) and, beside it, per second of wall time."""
    cpu, wall = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        work()
        cpu.append(n / (time.process_time() - start_cpu))
        wall.append(n / (time.perf_counter() - start))
    median = statistics.median(cpu)
    print(f"{label:<52} {max(cpu):>10,.0f} {median:>10,.0f} {statistics.median(wall):>10,.0f}")
    return median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(18)
    definition = survey.DEFAULT_SURVEY
    # Stored answers are the survey's normalised ones.
    apps = []
    for _ in range(args.n):
        normal, errors = survey.check_answers(definition, household(rng), complete=False)
        assert not errors, errors
        apps.append((normal, rng.randint(20, 70), Decimal(rng.choice([10000, 30000, 50000, 80000]))))
    card = sc.Scorecard.from_dict(sc.DEFAULT_SCORECARD)
    rules = routing.RoutingRules(l2_amount_over=Decimal("30000"), special_score_below=60,
                                 l2_over_suggested_limit=True)
    product_max = Decimal("100000.00")
    facts_list = [sc.derive_facts(a, age=age) for a, age, _ in apps]

    def check() -> None:
        for a, _age, _amount in apps:
            survey.check_answers(definition, a, complete=False)

    def route() -> None:
        for _a, age, amount in apps:
            routing.evaluate(rules, routing.RoutingFacts(
                amount=amount, term_months=12, borrower_age=age, related_party=False,
                duplicate_id_in_flight=False, home_gps_present=True, officer_on_site=True,
                outstanding_exposure=Decimal(0), worst_past_dpd=None, household_active_loans=0,
                score=70, suggested_limit=Decimal("20000")))

    def derive() -> None:
        for a, age, _amount in apps:
            sc.derive_facts(a, age=age)

    def score_only() -> None:
        for facts in facts_list:
            sc.score(card, facts)

    def full() -> None:
        for a, age, _amount in apps:
            facts = sc.derive_facts(a, age=age)
            result = sc.score(card, facts)
            sc.suggested_limit(card, facts, product_max, result=result)
            result.to_detail()

    print(f"{args.n:,} generated applications, {args.rounds} rounds, Python {sys.version.split()[0]}, "
          f"load average before {os.getloadavg()[0]:.2f}")
    print(f"{'step (applications per second)':<52} {'best CPU':>10} {'median CPU':>10} {'med. wall':>10}")
    rate("baseline: survey.check_answers (default survey)", check, args.n, args.rounds)
    rate("baseline: routing.evaluate", route, args.n, args.rounds)
    rate("derive_facts", derive, args.n, args.rounds)
    rate("score (facts derived beforehand)", score_only, args.n, args.rounds)
    median = rate("derive_facts + score + suggested_limit + to_detail", full, args.n, args.rounds)
    print(f"load average after {os.getloadavg()[0]:.2f}; goal 10,000/s: "
          f"{'met' if median >= 10000 else 'NOT met'} (median CPU rate of the whole scoring)")


if __name__ == "__main__":
    main()
