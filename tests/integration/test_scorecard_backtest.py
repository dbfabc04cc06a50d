"""The scorecard back-test on a generated book whose true risk drivers are known (issue 18): the
current scorecard ranks it (Gini well above 0), a scorecard on facts unrelated to the risk does not
and the verdict says so, every loan's default flag is the one its repayment plan produced (a loan
repaid late in the past included), loans without answers or too young are counted apart; the
command's JSON and the report screen. SQLite and MariaDB."""
from __future__ import annotations

import json
import random
from datetime import date
from fractions import Fraction

import pytest
from sqlalchemy import select

from app.domain import backtest as bt
from app.domain import scorecard as sc
from app.extensions import db
from app.models import Loan, Product
from app.models.credit import ScorecardVersion
from app.services import backtest, backtest_book

AS_OF = date(2026, 6, 30)
N = 1500
SEED = 18

# A "random" scorecard: it reads only facts the generator's risk does not depend on.
UNRELATED_CARD = {
    "base": 50,
    "factors": [
        {"key": "members", "label": "家庭人口", "fact": "members", "type": "range", "bins": [
            {"min": None, "max": "3", "points": 0, "reason": "人口少"},
            {"min": "3", "max": "5", "points": 7, "reason": "人口中等"},
            {"min": "5", "max": None, "points": 15, "reason": "人口多"}],
         "missing": {"points": 0, "reason": "未填"}},
        {"key": "has_vehicle", "label": "农用车", "fact": "has_vehicle", "type": "values", "bins": [
            {"values": [True], "points": 10, "reason": "有农用车"}],
         "other": {"points": 0, "reason": "无"}, "missing": {"points": 0, "reason": "未填"}},
    ],
}


def _card(code: str, definition: dict) -> int:
    """A new current version of the product's scorecard (the demo may have made version 1)."""
    product = db.session.scalar(select(Product).where(Product.code == code))
    version = (db.session.scalar(select(db.func.max(ScorecardVersion.version))
                                 .where(ScorecardVersion.product_id == product.id)) or 0) + 1
    db.session.add(ScorecardVersion(product_id=product.id, version=version, definition=definition))
    db.session.commit()
    return version


@pytest.fixture()
def book(app, demo):
    with app.app_context():
        made = backtest_book.generate(N, seed=SEED, as_of=AS_OF)
        made.version = _card("XYD", sc.DEFAULT_SCORECARD)
    return made


def test_the_scorecard_ranks_the_generated_book(app, book):
    """The current (default) card ranks it; the defaults are the plan's; an earlier date sees less."""
    _each_default_is_the_one_the_plan_made(app, book)
    _an_earlier_as_of_date_sees_only_what_had_happened(app, book)
    with app.app_context():
        result = backtest.run(None, as_of=AS_OF, product_id=_product_id("XYD"))
    r = result.result
    assert r.gini > Fraction(2, 10), r.gini
    assert r.ks > Fraction(2, 10)
    assert r.verdict == "ranks"
    assert r.gini_low > 0
    # Riskiest band first: its default rate is the highest.
    filled = [b for b in r.bands if b.loans >= 50]
    assert filled[0].default_rate > filled[-1].default_rate
    # Never silently dropped: every loan of the product is scored, not scorable or too recent.
    assert result.not_scorable["no_answers"] >= book.unsurveyed_seasoned > 0
    with app.app_context():
        xyd = db.session.scalar(select(db.func.count(Loan.id)).where(Loan.product_id == _product_id("XYD"),
                                                                     Loan.disbursed_on <= AS_OF))
    assert r.loans + result.not_scorable_total + result.too_recent == xyd
    assert result.too_recent >= book.recent
    assert result.scorecards == {"XYD": book.version}


def _each_default_is_the_one_the_plan_made(app, book):
    """The back-test's "ever 90 days past due" (from installments' paid_off_on, in SQL) against the
    generator's own replay of each loan's plan: equal for every loan, cured ones included."""
    with app.app_context():
        worst = backtest.worst_days_past_due(AS_OF)
        rows = db.session.execute(select(Loan.contract_no, Loan.status, worst)
                                  .where(Loan.contract_no.like(f"GEN{SEED}-%"))).all()
    found = {no for no, _status, days in rows if days >= backtest.DEFAULT_DPD}
    planned_or_recent = {no for no, *_ in rows}
    assert len(planned_or_recent) == N
    assert found == book.defaulted
    # Some defaulted loans caught up and were repaid in full: they still count as defaults.
    closed_defaults = [no for no, status, days in rows if days >= backtest.DEFAULT_DPD and status == "closed"]
    assert closed_defaults
    assert len(book.defaulted) > 100


def _an_earlier_as_of_date_sees_only_what_had_happened(app, book):
    with app.app_context():
        early = backtest.run(None, as_of=date(2025, 12, 31), product_id=_product_id("XYD"))
        now = backtest.run(None, as_of=AS_OF, product_id=_product_id("XYD"))
    assert early.result.loans < now.result.loans
    assert early.result.defaults <= now.result.defaults


def test_a_scorecard_on_unrelated_facts_does_not_rank_and_says_so(app, book):
    _random_scores_do_not_rank(app, book)
    with app.app_context():
        version = _card("XYD", UNRELATED_CARD)  # the current card is the highest version
        result = backtest.run(None, as_of=AS_OF, product_id=_product_id("XYD"))
    assert result.scorecards == {"XYD": version}
    r = result.result
    assert abs(r.gini) < Fraction(1, 10), r.gini
    assert r.verdict in ("no_ranking", "reversed", "insufficient")
    assert r.verdict not in ("ranks", "weak")


def _random_scores_do_not_rank(app, book):
    rnd = random.Random(5)
    with app.app_context():
        result = backtest.run(None, as_of=AS_OF, product_id=_product_id("XYD"),
                              scorer=lambda product_id, answers, age: rnd.randint(0, 100))
    assert abs(result.result.gini) < Fraction(1, 10)
    assert result.result.verdict == "no_ranking"


def test_a_stored_card_that_no_longer_reads_leaves_its_loans_not_scorable(app, demo):
    with app.app_context():
        made = backtest_book.generate(60, seed=3, as_of=AS_OF)
        _card("XYD", {"base": 10, "factors": "not a list"})
        result = backtest.run(None, as_of=AS_OF, product_id=_product_id("XYD"))
    assert result.result.loans == 0
    assert result.not_scorable["no_scorecard"] >= 60 - made.unsurveyed_seasoned - made.recent
    assert result.result.verdict == "insufficient"
    assert "30" in result.result.message % result.result.params  # says how many are needed


def test_a_product_without_a_version_scores_with_the_default_card(app, demo):
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.code == "XYD"))
        db.session.execute(db.delete(ScorecardVersion).where(ScorecardVersion.product_id == product.id))
        db.session.commit()
        backtest_book.generate(300, seed=4, as_of=AS_OF)
        result = backtest.run(None, as_of=AS_OF, product_id=product.id)
        assert db.session.scalar(select(db.func.count(ScorecardVersion.id))
                                 .where(ScorecardVersion.product_id == product.id)) == 0  # nothing written
    assert result.scorecards == {"XYD": "default"}
    assert result.result.loans > 200


def test_the_command_prints_the_json(app, book):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["scorecard", "backtest", "--product", "XYD", "--as-of", AS_OF.isoformat(),
                              "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert {"loans", "defaults", "gini", "ks", "bands", "not_scorable", "verdict", "verdict_text"} <= set(data)
    assert isinstance(data["loans"], int) and isinstance(data["defaults"], int)
    assert isinstance(data["gini"], str) and Fraction(data["gini"]) > Fraction(2, 10)
    assert isinstance(data["ks"], str)
    assert sum(b["loans"] for b in data["bands"]) == data["loans"]
    assert [b["band"] for b in data["bands"]] == ["<50", "50–59", "60–69", "70–79", "80–89", "≥90"]
    assert data["verdict"] == "ranks"
    assert "评分卡" in data["verdict_text"]  # said in Chinese
    text = runner.invoke(args=["scorecard", "backtest", "--as-of", AS_OF.isoformat(), "--format", "text",
                               "--bands", "40,60,80"])
    assert text.exit_code == 0, text.output
    assert "Gini" in text.output and "≥80" in text.output


@pytest.mark.parametrize("args", [["--product", "NOPE"], ["--as-of", "2026-13-01"], ["--bands", "60,50"],
                                  ["--min-months", "x"], ["--as-of", "2999-01-01"]])
def test_the_command_refuses_bad_options(app, demo, args):
    out = app.test_cli_runner().invoke(args=["scorecard", "backtest", *args])
    assert out.exit_code == 2, out.output


def test_the_report_screen_and_its_download(app, book, client, auth):
    _a_director_sees_only_his_offices_loans(app, book, client, auth)
    auth.post("/logout")
    auth.login("reviewer1")
    page = client.get(f"/reports/scorecard_backtest?as_of={AS_OF.isoformat()}&product=XYD")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Gini" in html and "KS" in html and "50–59" in html
    assert "评分卡" in html
    csv = client.get(f"/reports/scorecard_backtest?as_of={AS_OF.isoformat()}&product=XYD&format=csv")
    assert csv.status_code == 200
    body = csv.get_data(as_text=True)
    assert "Gini" in body and "≥90" in body
    bad = client.get("/reports/scorecard_backtest?bands=9,8")
    assert bad.status_code == 400
    assert "100" not in bad.get_data(as_text=True).split("report-error")[0][-20:]


def _a_director_sees_only_his_offices_loans(app, book, client, auth):
    """The generated loans are officer1's (城关); director2 (河口) sees none of them."""
    auth.login("director2")
    html = client.get(f"/reports/scorecard_backtest?as_of={AS_OF.isoformat()}").get_data(as_text=True)
    assert "GEN" not in html
    with app.app_context():
        from app.models import User

        director2 = db.session.scalar(select(User).where(User.username == "director2"))
        result = backtest.run(director2, as_of=AS_OF)
    assert result.result.loans == 0


def _product_id(code: str) -> int:
    return db.session.scalar(select(Product.id).where(Product.code == code))


def test_domain_verdict_threshold_is_documented():
    assert bt.MIN_DEFAULTS == 30


def test_a_reversed_repayment_makes_a_clean_loan_a_default(app, demo):
    """The live path: a cashier's reversal replays the loan and rewrites when each installment was
    paid off; the back-test reads that, so a loan that looked clean becomes a default."""
    from datetime import datetime, timezone

    from app.models import Repayment, User
    from app.services import loans as loan_service

    with app.app_context():
        backtest_book.generate(120, seed=7, as_of=AS_OF)
        pid = _product_id("XYD")
        before = backtest.run(None, as_of=AS_OF, product_id=pid)
        worst = backtest.worst_days_past_due(AS_OF)
        clean = db.session.execute(
            select(Loan.id).where(Loan.contract_no.like("GEN7-%"), Loan.status == "closed", worst == 0,
                                  Loan.disbursed_on <= date(2025, 3, 1))
            .order_by(Loan.id)).scalars().first()
        assert clean is not None
        first = db.session.scalars(select(Repayment).where(Repayment.loan_id == clean)
                                   .order_by(Repayment.paid_on, Repayment.id)).first()
        cashier = db.session.scalar(select(User).where(User.username == "cashier1"))
        loan_service.reverse_repayment(first, cashier, "录错了", now=datetime.now(timezone.utc),
                                       settings=loan_service.LoanSettings(backdate_max_days=1000))
        days = db.session.scalar(select(worst).where(Loan.id == clean))
        status = db.session.scalar(select(Loan.status).where(Loan.id == clean))
        after = backtest.run(None, as_of=AS_OF, product_id=pid)
    # Each later payment now settles the installment before it, a month late; the last one is never
    # paid: more than 90 days past due by the as-of date.
    assert days >= backtest.DEFAULT_DPD and status == "active"
    assert after.result.defaults == before.result.defaults + 1
    assert after.result.loans == before.result.loans


def _json_and_screen(app, client, auth) -> tuple[dict, str]:
    out = app.test_cli_runner().invoke(args=["scorecard", "backtest", "--product", "XYD", "--as-of",
                                             AS_OF.isoformat(), "--format", "json"])
    assert out.exit_code == 0, out.output
    auth.login("reviewer1")
    page = client.get(f"/reports/scorecard_backtest?as_of={AS_OF.isoformat()}&product=XYD")
    assert page.status_code == 200
    import html as html_lib

    return json.loads(out.output), html_lib.unescape(page.get_data(as_text=True))


@pytest.mark.parametrize("history", ["ranks", "insufficient"])
def test_the_json_verdict_is_the_screens_sentence(app, demo, client, auth, history):
    """A script reading ``verdict``/``verdict_text`` sees what the report screen says, word for word,
    whether the card ranks the loans or there are too few to judge; the keys a script already reads
    are all there."""
    with app.app_context():
        if history == "ranks":
            backtest_book.generate(N, seed=SEED, as_of=AS_OF)
            _card("XYD", sc.DEFAULT_SCORECARD)
        else:
            backtest_book.generate(60, seed=3, as_of=AS_OF)
    data, screen = _json_and_screen(app, client, auth)
    assert {"loans", "defaults", "gini", "ks", "bands"} <= set(data)
    assert data["verdict"] == history and data["verdict"] in bt.VERDICTS
    assert data["verdict_text"] and data["verdict_text"] in screen
    assert "评分卡" in data["verdict_text"] or "贷款" in data["verdict_text"]  # the Chinese sentence
    with app.app_context():
        result = backtest.run(None, as_of=AS_OF, product_id=_product_id("XYD"))
    assert result.result.verdict == data["verdict"]
