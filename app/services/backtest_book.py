"""A generated loan book whose true risk drivers are known, to show the back-test at work (issue 18).

``generate(n, seed=…)`` makes ``n`` households, each with the default survey's answers (members,
labour, land, livestock, incomes, expenses, house, debts, years in the village, the village
committee's rating), a disbursed loan of the chosen product (default XYD: 12 monthly annuity
installments) and its repayments. Whether a loan goes 90+ days late is drawn from a KNOWN model:

    logit P(default) = INTERCEPT − 0.45·net income (10,000 yuan, clipped to [−3, 8])
                       + 1.1·debt ratio (total debt ÷ yearly income, clipped to 3)
                       − 0.9·character + N(0, 1) noise

where *character* is a hidden trait the village committee's rating reflects with errors (the
rating is right four times in five). Members, vehicle, crops and house play NO part in the risk: a
scorecard built on them alone is a random one, and its Gini must come out near 0.

Repayment behaviour follows the draw: a loan that does not default pays every installment on its
due date, or up to 60 days late now and then (paying the penalty with it); a defaulting loan pays
some installments, stops, and either never pays again or catches up 95–200 days after the missed
due date (then pays on time): a loan repaid late in the past, current or closed today, which must
still count as a default. Each payment is exactly what is owed on the day (the replay's figures,
penalty included), so installments are settled on the planned day whatever the allocation order.

The book goes in through the existing book import's writer (``app.services.book``: the same
schedule engine, the same replay and allocation, bulk inserts, the loans opened in the ledger, one
audit row), then the applications get their survey answers in one executemany. Loans are disbursed
16 to 40 months before ``as_of`` (all 12 installments due at least 4 months before it, so every
default has had its chance to show); ``recent`` of them within the last 6 months (left out of the
back-test as too recent) and ``unsurveyed`` without survey answers (counted as not scorable).
Deterministic for a seed; generating the same seed twice adds nothing the second time (loan numbers
``GEN<seed>-<i>`` are skipped like a book imported twice).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import JSON, Integer, bindparam, column, select, table, update

from app import clock
from app.domain import book as dbook
from app.domain import repayment as rp
from app.domain.i18n import N_
from app.domain.idcard import check_digit
from app.domain.schedule import ScheduleRequest, add_months, schedule_fen
from app.extensions import db
from app.models import Loan, Product, User, UserRole
from app.services import audit
from app.services import book as book_service
from app.services.errors import ServiceError

INTERCEPT = -3.0
MAX_LOANS = 200_000
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
CROPS = ("玉米", "水稻", "小麦", "油菜", "马铃薯", "花椒", "茶叶", "柑橘")
RATINGS = ("excellent", "good", "fair", "poor")


class BookGenerationError(ServiceError):
    """The generated book cannot be made as asked (no such product or officer, bad size)."""


@dataclass(frozen=True)
class Household:
    answers: dict
    character: float      # the hidden trait (not in the answers)
    p_default: float      # the true probability of going 90+ days late
    net_income: Decimal
    debt_ratio: Decimal


@dataclass
class GeneratedBook:
    loans: int = 0            # loans written by this run
    planned_defaults: int = 0  # loans whose plan goes 90+ days late by as_of
    recent: int = 0
    unsurveyed: int = 0
    unsurveyed_seasoned: int = 0  # of which not recent (what the back-test counts as "no answers")
    repayments: int = 0
    skipped: int = 0          # already there (the same seed generated before)
    defaulted: set[str] = field(default_factory=set)  # the loan numbers whose plan goes 90+ days late


def _money(x: float) -> str:
    return f"{Decimal(max(x, 0)).quantize(Decimal('1')):.2f}"


def household(rnd: random.Random) -> Household:
    """One household's survey answers (the default survey's keys) and its true risk."""
    members = rnd.randint(2, 7)
    labourers = rnd.randint(1, max(1, min(members, 4)))
    land = round(max(0.5, rnd.lognormvariate(1.5, 0.7)), 1)
    heads = rnd.choice((0, 0, 1, 2, 3, 5, 8, 12, 20))
    crop = land * rnd.uniform(800, 2200)
    livestock = heads * rnd.uniform(400, 1500)
    wage = labourers * rnd.uniform(0, 22000)
    business = rnd.uniform(10000, 80000) if rnd.random() < 0.15 else 0.0
    other = rnd.uniform(0, 5000)
    living = members * rnd.uniform(2500, 6000)
    production = crop * rnd.uniform(0.3, 0.6) + livestock * rnd.uniform(0.2, 0.5)
    formal = rnd.uniform(5000, 100000) if rnd.random() < 0.4 else 0.0
    informal = rnd.uniform(2000, 50000) if rnd.random() < 0.3 else 0.0
    character = rnd.gauss(0, 1)
    rating = ("excellent" if character > 1 else "good" if character > 0 else "fair" if character > -1 else "poor")
    if rnd.random() < 0.2:
        rating = rnd.choice(RATINGS)
    answers = {
        "members": str(members), "labourers": str(labourers), "land_mu": f"{land:.1f}",
        "main_crops": "、".join(rnd.sample(CROPS, 2)), "livestock_heads": str(heads),
        "crop_income": _money(crop), "livestock_income": _money(livestock), "wage_income": _money(wage),
        "business_income": _money(business), "other_income": _money(other),
        "living_expenses": _money(living), "production_expenses": _money(production),
        "house_type": rnd.choice(("brick_concrete", "brick_wood", "earth")),
        "house_value": _money(rnd.uniform(30000, 400000)), "has_vehicle": rnd.random() < 0.35,
        "formal_debt": _money(formal), "informal_debt": _money(informal),
        "yearly_debt_service": _money((formal + informal) * rnd.uniform(0.2, 0.5)),
        "years_in_village": str(rnd.randint(1, 50)), "committee_rating": rating,
    }
    income = sum(Decimal(answers[k]) for k in ("crop_income", "livestock_income", "wage_income",
                                               "business_income", "other_income"))
    expenses = Decimal(answers["living_expenses"]) + Decimal(answers["production_expenses"])
    debt = Decimal(answers["formal_debt"]) + Decimal(answers["informal_debt"])
    net = income - expenses
    ratio = debt / income if income > 0 else Decimal(3)
    logit = (INTERCEPT - 0.45 * min(max(float(net) / 10000, -3), 8) + 1.1 * min(float(ratio), 3)
             - 0.9 * character + rnd.gauss(0, 1.0))
    return Household(answers, character, 1 / (1 + math.exp(-logit)), net, ratio)


def _id_number(seed: int, i: int, birth: date) -> str:
    body = f"{53 + seed % 10:02d}{(i // 1000) % 10000:04d}{birth:%Y%m%d}{i % 1000:03d}"
    return body + check_digit(body)


def repayment_plan(rnd: random.Random, lines: list[tuple[int, date, int, int]], *, defaults: bool,
                   penalty_rate: Decimal, start: date, as_of: date, order: tuple[str, ...]) -> list[tuple[int, date, int]]:
    """The payments (key, day, fen) of one loan: on each planned day, exactly what is owed on the
    installments due before it (and the one due that day), penalty included."""
    n = len(lines)
    delays: list[int | None] = []
    stop_at = rnd.randrange(n) if defaults else n
    cure = defaults and rnd.random() < 0.3
    for k in range(n):
        if k < stop_at:
            delays.append(0 if rnd.random() < 0.85 else rnd.randint(1, 60) if rnd.random() < 0.9 else rnd.randint(1, 8))
        elif k == stop_at and cure:
            delays.append(rnd.randint(95, 200))
        elif k > stop_at and cure:
            delays.append(0)
        else:
            delays.append(None)  # never paid
    pays: list[tuple[int, date, int]] = []
    settled_through = -1
    last_day = start
    for k, (_seq, due, _p, _i) in enumerate(lines):
        if k <= settled_through:
            continue
        if delays[k] is None:
            break
        day = max(due + timedelta(days=delays[k]), last_day)
        if day > as_of:
            break
        if day == due and settled_through == k - 1:
            # On time with everything before settled (penalty included): exactly this installment,
            # without replaying the loan (most payments; the replay below gives the same).
            pays.append((len(pays), day, lines[k][2] + lines[k][3]))
            settled_through, last_day = k, day
            continue
        pos = rp.replay_fen(lines, pays, penalty_rate=penalty_rate, as_of=day, start=start, order=order)
        millionths = rp.rate_millionths(penalty_rate)
        owed = 0
        for j, item in enumerate(pos.installments):
            if item.due_date < day or j == k:
                owed += (item.principal_due - item.principal_paid + item.interest_due - item.interest_paid
                         + max(item._penalty_due(millionths), 0))
                settled_through = max(settled_through, j)
            else:
                owed += max(item._penalty_due(millionths), 0)
        if owed > 0:
            pays.append((len(pays), day, owed))
        last_day = day
    return pays


def worst_days_late(lines: list[tuple[int, date, int, int]], pays: list[tuple[int, date, int]], *,
                    penalty_rate: Decimal, start: date, as_of: date, order: tuple[str, ...]) -> int:
    """The loan's worst days past due up to ``as_of`` from its own replay (what the plan produced)."""
    pos = rp.replay_fen(lines, pays, penalty_rate=penalty_rate, as_of=as_of, start=start, order=order)
    return max(((min(i.paid_off_on or as_of, as_of) - i.due_date).days for i in pos.installments
                if i.due_date < as_of), default=0)


def generate(n: int, *, seed: int = 18, as_of: date | None = None, product_code: str = "XYD",
             officer_login: str | None = None, user: User | None = None, recent: float = 0.05,
             unsurveyed: float = 0.03, with_answers: bool = True) -> GeneratedBook:
    """Generate and write the book in one transaction (see the module's docstring)."""
    if not 1 <= n <= MAX_LOANS:
        raise BookGenerationError("bad_size", N_("A generated book has from 1 to %(max)s loans."), max=MAX_LOANS)
    as_of = as_of or clock.business_today()
    product = db.session.scalar(select(Product).where(Product.code == product_code[:30]))
    if product is None:
        raise BookGenerationError("unknown_product", N_("There is no product with that code."))
    officer_q = (select(User).join(UserRole, UserRole.user_id == User.id)
                 .where(UserRole.role == "officer", User.is_enabled.is_(True)).order_by(User.id))
    if officer_login:
        officer_q = officer_q.where(User.username == officer_login[:50])
    officer = db.session.scalars(officer_q).first()
    if officer is None or officer.office is None:
        raise BookGenerationError("unknown_officer", N_("There is no enabled loan officer with that login."))
    if product.frequency == "custom":
        raise BookGenerationError("custom_product", N_("A generated book needs a product with monthly or quarterly "
                                                       "installments."))
    actor = user or officer
    rnd = random.Random(seed)
    order = rp.validate_order(product.allocation_order or ())
    method, term = product.repayment_method, 12
    look = book_service._Lookups()
    calendar = look.calendar(product)
    summary = GeneratedBook()
    parsed = dbook.ParsedBook()
    answers_by_no: dict[str, dict] = {}
    for i in range(n):
        h = household(rnd)
        is_recent = rnd.random() < recent
        months_back = rnd.randint(1, 6) if is_recent else rnd.randint(16, 40)
        disbursed = add_months(as_of, -months_back) - timedelta(days=rnd.randint(0, 27))
        age = rnd.randint(22, 64)
        birth = date(disbursed.year - age, rnd.randint(1, 12), rnd.randint(1, 28))
        idn = _id_number(seed, i, birth)
        principal = Decimal(rnd.randrange(5, 51) * 1000)
        principal = min(max(principal, product.min_amount), product.max_amount)
        lines = schedule_fen(ScheduleRequest(principal=principal, annual_rate=product.annual_rate, term_months=term,
                                             method=method, start=disbursed, frequency=product.frequency,
                                             day_count=product.day_count, **calendar))
        defaults = rnd.random() < h.p_default
        pays = repayment_plan(rnd, lines, defaults=defaults, penalty_rate=product.penalty_rate, start=disbursed,
                              as_of=as_of, order=order)
        if not is_recent and worst_days_late(lines, pays, penalty_rate=product.penalty_rate, start=disbursed,
                                             as_of=as_of, order=order) >= 90:
            summary.planned_defaults += 1
            summary.defaulted.add(f"GEN{seed}-{i:06d}")
        loan_no = f"GEN{seed}-{i:06d}"
        row = i + 2
        parsed.borrowers.append(dbook.BorrowerRow(
            row, idn, rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN), "男" if rnd.random() < 0.6 else "女",
            birth, f"139{seed % 100:02d}{i % 1000000:06d}", f"第{i % 40 + 1}村", "城关镇", "平安县",
            f"{i % 12 + 1}组{i % 97 + 1}号", None, None, officer.username))
        parsed.loans.append(dbook.LoanRow(row, loan_no, idn, product.code, principal, product.annual_rate, term, method,
                                          disbursed, lines[-1][1], officer.username, officer.office.code))
        parsed.loan_numbers_seen.add(loan_no)
        parsed.id_numbers_seen.add(idn)
        parsed.disbursed_seen[loan_no] = disbursed
        parsed.repayments.extend(dbook.RepaymentRow(row, loan_no, day, rp._yuan(fen), "cash", f"G{key + 1}")
                                 for key, day, fen in pays)
        summary.recent += is_recent
        if with_answers and rnd.random() >= unsurveyed:
            answers_by_no[loan_no] = h.answers
        else:
            summary.unsurveyed += 1
            summary.unsurveyed_seasoned += not is_recent
    summary.repayments = len(parsed.repayments)
    now = clock.now()
    summary.skipped = sum(1 for loan in parsed.loans if loan.loan_no in look.loans)
    writer = book_service._Writer(actor.id, now, "generated-%d" % seed)
    errors: list[dbook.BookError] = []
    result = book_service.Summary()
    book_service._check_and_write(parsed, look, errors, result, as_of, rp.DEFAULT_CLASS_DAYS, writer)
    if errors:
        db.session.rollback()
        first = errors[0]
        raise BookGenerationError("generation_failed", N_("The generated book was refused: %(problem)s"),
                                  problem=f"{first.sheet} {first.row} {first.column} {first.message % dict(first.params)}")
    writer.finish(look)
    summary.loans = result.new_loans
    _store_answers(answers_by_no, product.id)
    from app.services import ledger_loans

    ledger_loans.open_books(user_id=actor.id)
    audit.record("scorecard.book_generated", actor_id=actor.id, object_type="product", object_id=product.id, after={
        "seed": seed, "loans": summary.loans, "as_of": as_of.isoformat(), "skipped": summary.skipped,
        "planned_defaults": summary.planned_defaults})
    db.session.commit()
    return summary


_T_APPS = table("applications", column("id", Integer), column("survey_answers", JSON),
                column("survey_version_id", Integer))


def _store_answers(answers_by_no: dict[str, dict], product_id: int) -> None:
    if not answers_by_no:
        return
    version_id = _survey_version_id(product_id)
    rows = db.session.execute(select(Loan.contract_no, Loan.application_id)
                              .where(Loan.contract_no.in_(sorted(answers_by_no)))).all() if len(answers_by_no) < 900 else \
        db.session.execute(select(Loan.contract_no, Loan.application_id).where(Loan.contract_no.like("GEN%"))).all()
    params = [{"b_id": app_id, "b_answers": answers_by_no[no], "b_version": version_id}
              for no, app_id in rows if no in answers_by_no]
    stmt = (update(_T_APPS).where(_T_APPS.c.id == bindparam("b_id"))
            .values(survey_answers=bindparam("b_answers"), survey_version_id=bindparam("b_version")))
    for start in range(0, len(params), 2000):
        db.session.execute(stmt, params[start:start + 2000])


def _survey_version_id(product_id: int) -> int | None:
    """The product's current survey version (the survey service makes v1 from the default)."""
    try:
        from app.services import surveys
    except ImportError:  # the survey service not there yet: answers without a version
        return None
    version = surveys.current_version(product_id)
    return None if version is None else version.id
