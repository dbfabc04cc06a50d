"""The survey's screens: the admin's editor, the clerk's answers on the data-entry page, the answers
on the application page."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app.domain.survey import DEFAULT_SURVEY, to_rows
from app.domain.workflow import State
from app.extensions import db
from app.models import Application, Product, SurveyVersion
from app.services import surveys
from tests.conftest import Auth


def _product_id(app, code="XYD") -> int:
    with app.app_context():
        return db.session.scalar(select(Product.id).where(Product.code == code))


def _app_id(app, state: State) -> int:
    with app.app_context():
        return db.session.scalar(select(Application.id).where(Application.state == state.value).order_by(Application.id))


def _versions(app, product_id) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(SurveyVersion)
                                 .where(SurveyVersion.product_id == product_id))


def _form(rows, base=1, action="publish") -> dict:
    data = {"base_version": str(base), "sections": str(len(rows)), "action": action}
    for i, s in enumerate(rows):
        data[f"s{i}_key"], data[f"s{i}_title"], data[f"s{i}_n"] = s["key"], s["title"], str(len(s["questions"]))
        for j, q in enumerate(s["questions"]):
            for name, value in q.items():
                if name == "required":
                    if value:
                        data[f"s{i}_q{j}_required"] = "1"
                else:
                    data[f"s{i}_q{j}_{name}"] = value
    return data


def test_the_admin_sees_the_survey_and_its_history(app, demo, auth):
    pid = _product_id(app)
    auth.login("admin")
    page = auth.client.get(f"/admin/products/{pid}").get_data(as_text=True)
    assert f"/admin/products/{pid}/survey" in page
    r = auth.client.get(f"/admin/products/{pid}/survey")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "家庭成员与劳动力" in html and 'value="land_mu"' in html and "brick_concrete=砖混" in html
    assert 'id="survey-history"' in html


def test_bad_input_is_refused_in_chinese_with_every_field_and_nothing_saved(app, demo, auth):
    pid = _product_id(app)
    auth.login("admin")
    rows = to_rows(DEFAULT_SURVEY)
    rows[0]["questions"][0]["min"] = "40"          # above its maximum 30
    rows[0]["questions"][1]["key"] = "members"     # used twice
    rows[1]["questions"][0]["decimals"] = "x"
    rows[4]["questions"][0]["options"] = "brick=砖混\nwood=砖混"
    r = auth.post(f"/admin/products/{pid}/survey", _form(rows))
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "没有保存" in html or "未保存" in html
    for field in ("s0_q0_max", "s0_q1_key", "s1_q0_decimals", "s4_q0_options"):
        assert f'id="err-{field}"' in html, field
    errors = re.findall(r'<p class="field-error" id="err-[^"]+">([^<]+)</p>', html)
    assert len(errors) >= 4
    assert all(re.search(r"[\u4e00-\u9fff]", e) for e in errors), errors
    assert _versions(app, pid) == 1


def test_the_admin_adds_and_removes_questions_and_publishes(app, demo, auth):
    pid = _product_id(app)
    auth.login("admin")
    rows = to_rows(DEFAULT_SURVEY)
    r = auth.post(f"/admin/products/{pid}/survey", _form(rows, action="add_q_0"))
    assert r.status_code == 200 and 'name="s0_q3_key"' in r.get_data(as_text=True)
    r = auth.post(f"/admin/products/{pid}/survey", _form(rows, action="remove_0_1"))
    assert r.status_code == 200 and 'value="labourers"' not in r.get_data(as_text=True)
    r = auth.post(f"/admin/products/{pid}/survey", _form(rows, action="add_section"))
    assert f'name="s{len(rows)}_title"' in r.get_data(as_text=True)
    assert _versions(app, pid) == 1  # none of that saved anything
    rows[0]["questions"].append({"key": "elders", "label": "老人", "type": "number", "unit": "人", "required": False,
                                 "min": "0", "max": "10", "decimals": "0", "options": "", "max_length": ""})
    rows.append({"key": "extra", "title": "其他", "questions": [
        {"key": "has_insurance", "label": "参加农业保险", "type": "yesno", "required": True, "unit": "", "min": "",
         "max": "", "decimals": "", "options": "", "max_length": ""}]})
    r = auth.post(f"/admin/products/{pid}/survey", _form(rows))
    assert r.status_code == 303
    assert _versions(app, pid) == 2
    with app.app_context():
        definition = surveys.definition_of(surveys.current_version(pid))
        assert definition.question("elders").max == 10 and definition.question("has_insurance").required
    # Posting the same again writes nothing; posting on the old base is a conflict.
    r = auth.post(f"/admin/products/{pid}/survey", _form(rows, base=2))
    assert r.status_code == 303 and _versions(app, pid) == 2
    rows[0]["title"] = "家庭"
    r = auth.post(f"/admin/products/{pid}/survey", _form(rows, base=1))
    assert r.status_code == 409 and _versions(app, pid) == 2


def test_dropping_a_scored_question_warns_in_chinese_and_publishes_only_when_confirmed(app, demo, auth):
    pid = _product_id(app)
    auth.login("admin")
    rows = [s for s in to_rows(DEFAULT_SURVEY) if s["key"] != "village"]  # the village committee's rating
    assert len(rows) == len(to_rows(DEFAULT_SURVEY)) - 1
    r = auth.post(f"/admin/products/{pid}/survey", _form(rows))
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and _versions(app, pid) == 1
    box = html.split('id="scorecard-impact"')[1].split("</div>")[0]
    assert "村委评议" in box and "committee_rating" in box and "未发布" in box
    assert "Factor" not in box and "scorecard" not in box.replace("/scorecard", "")  # said in Chinese
    assert f'href="/admin/products/{pid}/scorecard"' in box
    ack = re.search(r'name="scorecard_ack" value="([^"]+)"', html).group(1)
    # Publishing again without ticking the confirmation warns again; ticked, it publishes.
    assert auth.post(f"/admin/products/{pid}/survey", _form(rows)).status_code == 422
    assert _versions(app, pid) == 1
    r = auth.post(f"/admin/products/{pid}/survey", _form(rows) | {"scorecard_ack": ack})
    assert r.status_code == 303 and _versions(app, pid) == 2
    # Adding a question warns of nothing.
    rows[0]["questions"].append({"key": "elders", "label": "老人", "type": "number", "unit": "人", "required": False,
                                 "min": "0", "max": "10", "decimals": "0", "options": "", "max_length": ""})
    r = auth.post(f"/admin/products/{pid}/survey", _form(rows, base=2))
    assert r.status_code == 303 and _versions(app, pid) == 3


def test_only_the_admin_edits_the_survey(app, demo, auth):
    pid = _product_id(app)
    auth.login("clerk1")
    assert auth.client.get(f"/admin/products/{pid}/survey").status_code in (302, 403)
    r = auth.post(f"/admin/products/{pid}/survey", _form(to_rows(DEFAULT_SURVEY)))
    assert r.status_code in (302, 403)
    assert _versions(app, pid) == 1


def test_the_clerk_corrects_an_answer_on_the_entry_page(app, demo, auth):
    aid = _app_id(app, State.AWAITING_ENTRY)
    auth.login("clerk1")
    html = auth.client.get(f"/applications/{aid}/entry").get_data(as_text=True)
    assert 'id="survey-form"' in html and 'name="sv_members"' in html
    with app.app_context():
        a = db.session.get(Application, aid)
        answers, version = dict(a.survey_answers), a.version
    data = {f"sv_{k}": ("true" if v is True else "false" if v is False else v) for k, v in answers.items()}
    data["version"] = str(version)
    data["sv_members"] = "31"
    r = auth.post(f"/applications/{aid}/survey", data, headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="err-sv-members"' in html and "1" in html and "30" in html
    assert 'value="31"' in html  # the typing is kept
    with app.app_context():
        assert db.session.get(Application, aid).survey_answers["members"] == answers["members"]
    data["sv_members"] = "5"
    data["sv_land_mu"] = "12"
    r = auth.post(f"/applications/{aid}/survey", data, headers={"HX-Request": "true"})
    assert r.status_code == 200, r.get_data(as_text=True)
    with app.app_context():
        a = db.session.get(Application, aid)
        assert a.survey_answers["members"] == "5" and a.survey_answers["land_mu"] == "12.0"


def test_only_the_clerk_saves_answers_and_only_reached_applications(app, demo, auth):
    aid = _app_id(app, State.AWAITING_ENTRY)
    auth.login("reviewer1")
    r = auth.post(f"/applications/{aid}/survey", {"version": "1", "sv_members": "5"})
    assert r.status_code in (302, 403)
    auth = Auth(app.test_client())
    auth.login("director2")  # the other office's director: 王五 (城关) is not his office's
    r = auth.client.get(f"/applications/{aid}")
    assert r.status_code == 404 and "家庭成员与劳动力" not in r.get_data(as_text=True)
    auth = Auth(app.test_client())
    auth.login("director1")
    assert "家庭成员与劳动力" in auth.client.get(f"/applications/{aid}").get_data(as_text=True)


def test_the_application_page_shows_the_answers_by_section(app, demo, auth):
    aid = _app_id(app, State.AWAITING_L1)
    auth.login("reviewer1")
    html = auth.client.get(f"/applications/{aid}").get_data(as_text=True)
    assert 'id="survey"' in html and "土地与生产" in html and "亩" in html and "村委评议" in html


def test_an_application_without_a_survey_shows_none(app, demo, auth):
    aid = _app_id(app, State.AWAITING_L1)
    with app.app_context():
        a = db.session.get(Application, aid)
        a.survey_version_id, a.survey_answers = None, None
        db.session.commit()
    auth.login("reviewer1")
    html = auth.client.get(f"/applications/{aid}").get_data(as_text=True)
    assert 'id="survey"' not in html


def test_an_application_on_an_older_version_is_shown_and_saved_on_it(app, demo, auth):
    pid_app = _app_id(app, State.AWAITING_ENTRY)
    with app.app_context():
        a = db.session.get(Application, pid_app)
        pid = a.product_id
    auth.login("admin")
    rows = to_rows(DEFAULT_SURVEY)
    del rows[0]["questions"][1]  # labourers gone in v2
    warned = auth.post(f"/admin/products/{pid}/survey", _form(rows))
    assert warned.status_code == 422  # the labour ratio is computed from it: confirmed below
    ack = re.search(r'name="scorecard_ack" value="([^"]+)"', warned.get_data(as_text=True)).group(1)
    assert auth.post(f"/admin/products/{pid}/survey", _form(rows) | {"scorecard_ack": ack}).status_code == 303
    auth = Auth(app.test_client())
    auth.login("clerk1")
    html = auth.client.get(f"/applications/{pid_app}/entry").get_data(as_text=True)
    assert 'name="sv_labourers"' in html
    with app.app_context():
        a = db.session.get(Application, pid_app)
        answers, version = dict(a.survey_answers), a.version
    data = {f"sv_{k}": ("true" if v is True else "false" if v is False else v) for k, v in answers.items()}
    data.update(version=str(version), sv_labourers="2")
    r = auth.post(f"/applications/{pid_app}/survey", data, headers={"HX-Request": "true"})
    assert r.status_code == 200
    with app.app_context():
        assert db.session.get(Application, pid_app).survey_answers["labourers"] == "2"


def test_entry_completes_only_with_the_surveys_required_answers(app, demo, auth):
    from app.services.demo import demo_entry

    aid = _app_id(app, State.AWAITING_ENTRY)
    with app.app_context():
        a = db.session.get(Application, aid)
        a.survey_answers = {k: v for k, v in a.survey_answers.items() if k != "committee_rating"}
        db.session.commit()
        values, version = demo_entry(a), a.version
    auth.login("clerk1")
    r = auth.post(f"/applications/{aid}/entry", {**values, "version": version, "action": "complete"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="err-survey"' in html and "村委评议" in html
    with app.app_context():
        a = db.session.get(Application, aid)
        assert a.state == State.AWAITING_ENTRY.value
        answers = {f"sv_{k}": ("true" if v is True else "false" if v is False else v) for k, v in a.survey_answers.items()}
        version = a.version
    r = auth.post(f"/applications/{aid}/survey", {**answers, "sv_committee_rating": "fair", "version": version},
                  headers={"HX-Request": "true"})
    assert r.status_code == 200
    with app.app_context():
        version = db.session.get(Application, aid).version
    r = auth.post(f"/applications/{aid}/entry", {**values, "version": version, "action": "complete"})
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    with app.app_context():
        assert db.session.get(Application, aid).state == State.AWAITING_L1.value
