"""The scorecard's screens: the admin's editor (rows of factors and bins, every problem named at once
in Chinese with nothing saved, versions listed) and the score on the application pages of the
director, the clerk and the reviewers — and not for a role without application data."""
from __future__ import annotations

import html as htmllib
import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Application, AuditLog, Borrower, Product, ScorecardVersion
from app.services import scoring


def _text(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def _product_id(app, code: str = "XYD") -> int:
    with app.app_context():
        return db.session.scalar(select(Product.id).where(Product.code == code))


def _app_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Application.id).join(Borrower).where(Borrower.name == name))


def _versions(app, product_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ScorecardVersion)
                                 .where(ScorecardVersion.product_id == product_id))


def _form_of(app, product_id: int, **changes) -> dict[str, str]:
    """The editor's form as the browser sends it for the current card."""
    with app.app_context():
        rows = scoring.to_rows(scoring.current_version(product_id).definition)
        db.session.commit()
    data = {"base": rows["base"], "factors": str(len(rows["factors"])), "grades": str(len(rows["grades"])),
            "base_version": "1", "action": "publish"}
    for i, f in enumerate(rows["factors"]):
        for name in ("key", "label", "fact", "missing_points", "missing_reason", "other_points", "other_reason"):
            data[f"f{i}_{name}"] = f[name]
        data[f"f{i}_n"] = str(len(f["bins"]))
        for j, b in enumerate(f["bins"]):
            for name, value in b.items():
                data[f"f{i}_b{j}_{name}"] = value
    for k, g in enumerate(rows["grades"]):
        for name, value in g.items():
            data[f"g{k}_{name}"] = value
    for name in ("income_multiple", "repayment_share", "capacity_years", "step"):
        data[name] = rows[name]
    data.update(changes)
    return data


def test_editor_shows_the_current_card_to_the_admin_only(app, demo, auth, client):
    pid = _product_id(app)
    auth.login("admin")
    page = _text(client.get(f"/admin/products/{pid}/scorecard"))
    assert "评分卡：农户小额信用贷款" in page
    assert 'name="f6_b0_values" value="excellent"' in page  # the committee rating's first bin
    assert "村委评议：好" in page and 'id="scorecard-history"' in page
    _switch(auth, "director1")
    assert client.get(f"/admin/products/{pid}/scorecard").status_code in (403, 404)


def test_bad_input_names_every_problem_in_chinese_and_saves_nothing(app, demo, auth, client):
    pid = _product_id(app)
    auth.login("admin")
    data = _form_of(app, pid, f0_b1_min="23", f3_b0_points="很多", f2_fact="shoe_size", step="0",
                    f6_b1_values="excellent")
    with app.app_context():
        audits = db.session.scalar(select(func.count()).select_from(AuditLog))
    r = auth.post(f"/admin/products/{pid}/scorecard", data=data)
    assert r.status_code == 422
    page = _text(r)
    errors = re.search(r'<div class="flash flash-error" role="alert" id="scorecard-errors">(.*?)</div>', page, re.S)
    items = re.findall(r"<li>(.*?)</li>", errors.group(1))
    assert "评分因素 年龄：第 1 档和第 2 档之间有空缺（22 到 23）" in items
    assert "评分因素 耕种土地 第 1 档：分值必须是整数" in items
    assert any("shoe_size 不是可评分的调查问题或推算指标" in i for i in items)
    assert "评分因素 村委评议 第 2 档：答案 excellent 已在第 1 档中" in items
    assert "取整单位必须大于 0" in items
    assert len(items) == 5
    assert 'value="很多"' in page  # what was typed stays in the form
    assert _versions(app, pid) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog)) == audits


def test_publish_a_change_and_rows_can_be_added(app, demo, auth, client):
    pid = _product_id(app)
    auth.login("admin")
    r = auth.post(f"/admin/products/{pid}/scorecard", data=_form_of(app, pid, action="addbin_0"))
    assert r.status_code == 200 and 'name="f0_b5_points"' in _text(r)
    r = auth.post(f"/admin/products/{pid}/scorecard", data=_form_of(app, pid, action="add_factor"))
    assert 'id="f10"' in _text(r)
    r = auth.post(f"/admin/products/{pid}/scorecard", data=_form_of(app, pid, base="15", f9_b0_values="是"))
    assert r.status_code == 303
    assert _versions(app, pid) == 2
    with app.app_context():
        v = scoring.current_version(pid)
        assert v.definition["base"] == 15 and v.definition["factors"][9]["bins"][0]["values"] == [True]
    page = _text(client.get(f"/admin/products/{pid}/scorecard"))
    assert re.search(r'id="scorecard-version">[^<]*2', page)


def _switch(auth, username: str) -> None:
    auth.post("/logout")
    auth.login(username)


def _score_section(page: str) -> str | None:
    m = re.search(r'<section class="card score-card" id="score">(.*?)</section>', page, re.S)
    return m.group(1) if m else None


def test_the_score_shows_for_director_reviewer_and_clerk(app, demo, auth, client):
    zhang, li, wang = _app_id(app, "张三"), _app_id(app, "李四"), _app_id(app, "王五")
    with app.app_context():
        scores = {i: db.session.get(Application, i).score for i in (zhang, li, wang)}
        rating = db.session.get(Application, zhang).survey_answers.get("committee_rating")
    auth.login("director1")
    section = _score_section(_text(client.get(f"/applications/{zhang}")))
    assert section and f'id="score-value">{scores[zhang]}<' in section
    assert "村委评议" in section and "建议额度" in section and "申请金额" in section
    if rating:  # the answer by its option's label, not its stored value
        label = {"excellent": "好", "good": "较好", "fair": "一般", "poor": "差"}[rating]
        assert re.search(rf"<td>村委评议</td>\s*<td>{label}</td>", section), section
    _switch(auth, "reviewer1")
    section = _score_section(_text(client.get(f"/applications/{li}")))
    assert section and f'id="score-value">{scores[li]}<' in section and "建议额度的计算过程" in section
    _switch(auth, "clerk1")
    entry = _text(client.get(f"/applications/{wang}/entry"))
    section = _score_section(entry)
    assert section and f'id="score-value">{scores[wang]}<' in section
    assert "申请金额" not in section  # the amount is keyed blind from the documents


def test_no_score_for_a_role_without_application_data(app, demo):
    from tests.conftest import Auth

    li = _app_id(app, "李四")
    for username in ("accountant1", "admin"):
        client = app.test_client()
        Auth(client).login(username)
        r = client.get(f"/applications/{li}")
        assert r.status_code == 404 and _score_section(_text(r)) is None
    with app.test_request_context():  # the partial itself, should a page without the grant include it
        from flask_login import login_user

        from app.models import User
        from flask import render_template

        login_user(db.session.scalar(select(User).where(User.username == "accountant1")))
        a = db.session.get(Application, li)
        assert render_template("applications/_score.html", app=a).strip() == ""
        login_user(db.session.scalar(select(User).where(User.username == "reviewer1")))
        assert 'id="score"' in render_template("applications/_score.html", app=a)


def test_rules_page_sets_the_score_rules_and_the_preview_shows_them(app, demo, auth, client):
    from app.services import products as product_service

    pid = _product_id(app)
    zhang = _app_id(app, "张三")
    with app.app_context():
        values = product_service.form_values(db.session.get(Product, pid).rules)
        score = db.session.get(Application, zhang).score
    values = {k: v for k, v in values.items() if v}
    auth.login("admin")
    page = _text(client.get(f"/admin/products/{pid}/rules"))
    assert "评分低于此值时进行专项审查" in page and "申请金额高于评分卡建议额度时进行二级审查" in page
    r = auth.post(f"/admin/products/{pid}/rules", data={**values, "special_score_below": "abc"})
    assert r.status_code == 422
    r = auth.post(f"/admin/products/{pid}/rules",
                  data={**values, "special_score_below": str(score + 1), "l2_over_suggested_limit": "1"})
    assert r.status_code == 303
    with app.app_context():
        stored = db.session.get(Product, pid).routing_rules
        assert stored["special_score_below"] == score + 1 and stored["l2_over_suggested_limit"] is True
    _switch(auth, "director1")
    page = _text(client.get(f"/applications/{zhang}"))
    assert f"评分 {score} 低于 {score + 1}" in page  # the preview before first-level review


def test_the_editor_shows_the_range_of_possible_scores_below_zero_too_and_unreachable_grades(app, demo, auth, client):
    pid = _product_id(app)
    auth.login("admin")
    page = _text(client.get(f"/admin/products/{pid}/scorecard"))
    shown = re.search(r'id="scorecard-range"><strong>([^<]*)</strong>', page).group(1)
    assert shown == "可能的得分：-33 至 100 分"
    assert 'id="scorecard-range-negative"' in page and "低于 0" in page
    assert "grade-unreachable" not in page
    # The form as it stands (here without the net-income factor, -10 to 20 points) is what the range is of;
    # the grade 优秀 (85) is then out of reach, said so in Chinese.
    r = auth.post(f"/admin/products/{pid}/scorecard", data=_form_of(app, pid, action="dropfactor_1"))
    page = _text(r)
    assert r.status_code == 200
    assert re.search(r'id="scorecard-range"><strong>([^<]*)</strong>', page).group(1) == "可能的得分：-23 至 80 分"
    assert "信用等级“优秀”的起点为 85 分，高于最高可能得分 80 分" in page
    assert _versions(app, pid) == 1
    # A card that cannot go below 0 says nothing about negative scores.
    r = auth.post(f"/admin/products/{pid}/scorecard", data=_form_of(app, pid, base="45", action="dropgrade_9"))
    page = _text(r)
    assert re.search(r'id="scorecard-range"><strong>([^<]*)</strong>', page).group(1) == "可能的得分：0 至 133 分"
    assert 'id="scorecard-range-negative"' not in page
