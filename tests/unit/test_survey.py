"""The household survey's definition and answers (app/domain/survey.py)."""
from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import survey
from app.domain.survey import DEFAULT_SURVEY, SurveyDefinition, SurveyError, check_answers

DEFAULT_KEYS = {
    "members", "labourers", "land_mu", "main_crops", "livestock_heads", "crop_income", "livestock_income",
    "wage_income", "business_income", "other_income", "living_expenses", "production_expenses",
    "house_type", "house_value", "has_vehicle", "formal_debt", "informal_debt", "yearly_debt_service",
    "years_in_village", "committee_rating", "house_photo",
}

BRIEF_EXAMPLE = {"sections": [{"key": "household", "title": "家庭成员与劳动力", "questions": [
    {"key": "members", "label": "家庭人口", "type": "number", "unit": "人", "required": True,
     "min": "1", "max": "30", "decimals": 0},
    {"key": "house_type", "label": "住房", "type": "choice", "required": True,
     "options": [{"value": "brick_concrete", "label": "砖混"}, {"value": "brick_wood", "label": "砖木"}]},
    {"key": "has_vehicle", "label": "有农用车", "type": "yesno"},
    {"key": "wage_income", "label": "务工收入", "type": "money", "min": "0", "max": "1000000"},
    {"key": "notes", "label": "备注", "type": "text", "max_length": 200},
    {"key": "house_photo", "label": "住房照片", "type": "photo"}]}]}

GOOD_ANSWERS = {
    "members": "4", "labourers": "2", "years_in_village": "30", "land_mu": "8.5", "main_crops": "玉米、小麦",
    "livestock_heads": "3", "crop_income": "24000", "livestock_income": "6000.5", "wage_income": "30000.00",
    "business_income": "0", "living_expenses": "18000", "production_expenses": "9000",
    "house_type": "brick_concrete", "house_value": "150000", "has_vehicle": True, "formal_debt": "0",
    "informal_debt": "5000", "yearly_debt_service": "0", "committee_rating": "good",
}


def test_default_survey_has_exactly_the_agreed_keys():
    assert set(DEFAULT_SURVEY.keys) == DEFAULT_KEYS
    assert len(DEFAULT_SURVEY.keys) == len(DEFAULT_KEYS)
    land = DEFAULT_SURVEY.question("land_mu")
    assert (land.unit, land.decimals, land.min, land.max) == ("亩", 1, Decimal(0), Decimal(1000))
    members = DEFAULT_SURVEY.question("members")
    assert (members.min, members.max, members.unit) == (Decimal(1), Decimal(30), "人")
    assert DEFAULT_SURVEY.question("crop_income").max == Decimal(10_000_000)
    assert [o.label for o in DEFAULT_SURVEY.question("committee_rating").options] == ["好", "较好", "一般", "差"]
    assert not DEFAULT_SURVEY.question("house_photo").required


def test_default_survey_round_trips_and_is_fresh_each_time():
    d = survey.default_definition()
    d["sections"].pop()
    assert len(survey.default_definition()["sections"]) == len(DEFAULT_SURVEY.sections)
    assert SurveyDefinition.from_dict(DEFAULT_SURVEY.to_dict()) == DEFAULT_SURVEY


def test_the_brief_example_reads_and_writes_back_the_same():
    definition = SurveyDefinition.from_dict(BRIEF_EXAMPLE)
    assert definition.to_dict() == BRIEF_EXAMPLE
    assert definition.question("wage_income").shown_unit == "元"


def _problems(d):
    with pytest.raises(SurveyError) as exc:
        SurveyDefinition.from_dict(d)
    return exc.value.problems


def test_every_problem_is_reported_with_its_place():
    bad = copy.deepcopy(BRIEF_EXAMPLE)
    qs = bad["sections"][0]["questions"]
    qs[0]["min"] = "40"                       # above max
    qs[1]["options"][1]["value"] = "brick_concrete"  # duplicate option
    qs[2]["key"] = "members"                  # duplicate key
    qs[3]["max"] = "1.234"                    # money has 2 places
    qs[4]["type"] = "essay"
    qs[5]["label"] = " "
    problems = _problems(bad)
    paths = {p for p, _m, _params in problems}
    assert {"sections.0.questions.0.max", "sections.0.questions.1.options", "sections.0.questions.2.key",
            "sections.0.questions.3.max", "sections.0.questions.4.type",
            "sections.0.questions.5.label"} <= paths
    for _path, message, params in problems:
        assert "%(where)s" in message
        assert "家庭成员与劳动力" in params["where"]
    dup = next(params for path, _m, params in problems if path == "sections.0.questions.2.key")
    assert dup["key"] == "members" and dup["where"] == "家庭成员与劳动力 › members"


@pytest.mark.parametrize("change", [
    lambda d: d.update(extra=1),
    lambda d: d.update(sections=[]),
    lambda d: d["sections"][0].update(questions=[]),
    lambda d: d["sections"].append(copy.deepcopy(d["sections"][0])),  # keys used twice
    lambda d: d["sections"][0]["questions"][0].update(decimals=9),
    lambda d: d["sections"][0]["questions"][0].update(decimals=True),
    lambda d: d["sections"][0]["questions"][0].update(min=1.5),
    lambda d: d["sections"][0]["questions"][0].update(min="1e3"),
    lambda d: d["sections"][0]["questions"][0].update(required="yes"),
    lambda d: d["sections"][0]["questions"][0].update(options=[]),
    lambda d: d["sections"][0]["questions"][1].update(options=[{"value": "a", "label": "甲"}]),
    lambda d: d["sections"][0]["questions"][1]["options"][1].update(label="砖混"),
    lambda d: d["sections"][0]["questions"][3].update(min="-1"),
    lambda d: d["sections"][0]["questions"][3].update(unit="万元"),
    lambda d: d["sections"][0]["questions"][4].update(max_length=0),
    lambda d: d["sections"][0]["questions"][0].update(label="家\u202e庭"),
    lambda d: d["sections"][0]["questions"][0].update(key="Members"),
    lambda d: d["sections"][0].update(key="1x"),
])
def test_invalid_definitions_are_refused(change):
    bad = copy.deepcopy(BRIEF_EXAMPLE)
    change(bad)
    assert _problems(bad)


@pytest.mark.parametrize("value", [None, [], "x", 3, {"sections": "x"}, {"sections": [1]},
                                   {"sections": [{"key": "a", "title": "t", "questions": [1, None]}]}])
def test_garbage_is_refused_not_raised_otherwise(value):
    with pytest.raises(SurveyError):
        SurveyDefinition.from_dict(value)


def test_good_answers_are_normalised():
    normal, errors = check_answers(DEFAULT_SURVEY, GOOD_ANSWERS, complete=True)
    assert errors == {}
    assert normal["land_mu"] == "8.5"
    assert normal["crop_income"] == "24000.00"
    assert normal["livestock_income"] == "6000.50"
    assert normal["members"] == "4"
    assert normal["has_vehicle"] is True
    assert normal["main_crops"] == "玉米、小麦"
    assert "house_photo" not in normal and "other_income" not in normal


def test_forms_typing_is_understood():
    normal, errors = check_answers(DEFAULT_SURVEY, {
        "land_mu": "１２", "crop_income": "30,000", "has_vehicle": "false", "members": 3,
        "house_photo": "ABCDEF01-0000-4000-8000-000000000000", "main_crops": "  水稻 \r\n 油菜 ",
    }, complete=False)
    assert errors == {}
    assert normal == {"land_mu": "12.0", "crop_income": "30000.00", "has_vehicle": False, "members": "3",
                      "house_photo": "abcdef01-0000-4000-8000-000000000000", "main_crops": "水稻 \n 油菜"}


def test_draft_allows_missing_required_but_complete_does_not():
    normal, errors = check_answers(DEFAULT_SURVEY, {"members": "3"}, complete=False)
    assert errors == {} and normal == {"members": "3"}
    _normal, errors = check_answers(DEFAULT_SURVEY, {"members": "3", "land_mu": ""}, complete=True)
    assert "land_mu" in errors and "members" not in errors
    message, params = errors["land_mu"]
    assert params == {"label": "耕种土地面积"} and "required" in message


def test_out_of_range_says_the_range_and_unit():
    _n, errors = check_answers(DEFAULT_SURVEY, {"members": "31", "land_mu": "1000.1", "wage_income": "-5"},
                               complete=False)
    message, params = errors["members"]
    assert message % params == "家庭人口 must be between 1 and 30 人."
    message, params = errors["land_mu"]
    assert message % params == "耕种土地面积 must be between 0 and 1000 亩."
    assert "wage_income" in errors


@pytest.mark.parametrize("key,value", [
    ("members", "2.5"), ("land_mu", "1.25"), ("members", "abc"), ("members", True), ("members", [1]),
    ("members", float("nan")), ("crop_income", "1.001"), ("house_type", "palace"), ("house_type", 1),
    ("has_vehicle", "maybe"), ("has_vehicle", 1.5), ("main_crops", 5), ("main_crops", "x" * 101),
    ("main_crops", "a\x00b"), ("house_photo", "not-a-uuid"), ("house_photo", 12),
    ("crop_income", "1" * 30), ("members", "1e1"),
])
def test_bad_answers_are_errors(key, value):
    normal, errors = check_answers(DEFAULT_SURVEY, {key: value}, complete=False)
    assert key in errors and key not in normal


def test_unknown_keys_are_errors_not_dropped():
    normal, errors = check_answers(DEFAULT_SURVEY, {"members": "2", "salary": "100"}, complete=False)
    assert normal == {"members": "2"}
    assert errors["salary"][1] == {"key": "salary"}


def test_not_a_dict_is_one_error():
    for value in ([1, 2], "x", 3, True):
        normal, errors = check_answers(DEFAULT_SURVEY, value, complete=False)
        assert normal == {} and set(errors) == {"_"}


# ------------------------------------------------------------------ invariants (Hypothesis)
keys = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
labels = st.text(st.characters(whitelist_categories=("Lo", "Lu", "Ll", "Nd")), min_size=1, max_size=12)
decimals_text = st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def questions(draw, key):
    kind = draw(st.sampled_from(survey.TYPES))
    q = {"key": key, "label": draw(labels), "type": kind}
    if draw(st.booleans()):
        q["required"] = True
    if kind == "number":
        places = draw(st.integers(0, 4))
        q["decimals"] = places
        q["unit"] = draw(st.sampled_from(["亩", "头", "人", "年"]))
        bounds = sorted(draw(st.lists(st.decimals(-1000, 10**6, places=places), min_size=2, max_size=2)))
        if draw(st.booleans()):
            q["min"] = format(bounds[0], "f")
        if draw(st.booleans()):
            q["max"] = format(bounds[1], "f")
    if kind == "money":
        bounds = sorted(draw(st.lists(st.decimals(0, 10**7, places=2), min_size=2, max_size=2)))
        if draw(st.booleans()):
            q["min"] = format(bounds[0], "f")
        if draw(st.booleans()):
            q["max"] = format(bounds[1], "f")
    if kind == "choice":
        values = draw(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True), min_size=2, max_size=5,
                               unique=True))
        q["options"] = [{"value": v, "label": f"选项{i}"} for i, v in enumerate(values)]
    if kind == "text":
        q["max_length"] = draw(st.integers(1, 500))
    return q


@st.composite
def definitions(draw):
    all_keys = draw(st.lists(keys, min_size=1, max_size=12, unique=True))
    cut = sorted(set(draw(st.lists(st.integers(1, max(1, len(all_keys) - 1)), max_size=3))))
    groups, start = [], 0
    for c in cut + [len(all_keys)]:
        if c > start:
            groups.append(all_keys[start:c])
            start = c
    return {"sections": [
        {"key": f"s{i}", "title": f"部分{i}", "questions": [draw(questions(k)) for k in group]}
        for i, group in enumerate(groups)]}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | decimals_text.map(str),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(definitions())
def test_round_trip(d):
    definition = SurveyDefinition.from_dict(d)
    assert SurveyDefinition.from_dict(definition.to_dict()) == definition
    assert SurveyDefinition.from_dict(definition.to_dict()).to_dict() == definition.to_dict()


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_check_answers_never_raises_and_normalised_answers_pass_unchanged(data):
    definition = SurveyDefinition.from_dict(data.draw(definitions()))
    question_keys = list(definition.keys)
    answer_keys = st.sampled_from(question_keys) | st.text(max_size=6)
    answers = data.draw(st.one_of(json_values, st.dictionaries(answer_keys, json_values, max_size=8)))
    complete = data.draw(st.booleans())
    normal, errors = check_answers(definition, answers, complete=complete)
    assert isinstance(normal, dict) and isinstance(errors, dict)
    assert not set(normal) & set(errors)
    for message, params in errors.values():
        assert isinstance(message % params, str)
    again, errors_again = check_answers(definition, normal, complete=False)
    assert errors_again == {} and again == normal


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_numbers_in_range_pass_and_outside_fail(data):
    definition = SurveyDefinition.from_dict(DEFAULT_SURVEY.to_dict())
    value = data.draw(st.decimals(min_value=-50, max_value=2000, places=1))
    _normal, errors = check_answers(definition, {"land_mu": str(value)}, complete=False)
    assert ("land_mu" in errors) == (not Decimal(0) <= value <= Decimal(1000))


# ------------------------------------------------------------------ the admin's form rows
@settings(max_examples=150, deadline=None)
@given(definitions())
def test_form_rows_round_trip(d):
    definition = SurveyDefinition.from_dict(d)
    back, _where = survey.from_rows(survey.to_rows(definition))
    assert SurveyDefinition.from_dict(back) == definition


def test_blank_rows_are_skipped_and_problems_land_on_their_form_field():
    rows = survey.to_rows(DEFAULT_SURVEY)
    blank = {name: "" for name in survey.ROW_FIELDS}
    rows[0]["questions"].insert(1, dict(blank, type="number"))    # an empty row the form offered
    rows.insert(1, {"key": "", "title": "", "questions": [dict(blank, type="number")]})  # an empty section
    rows[2]["questions"][1]["max"] = "-1"                          # land section's 2nd row: main_crops is text
    rows[0]["questions"][2]["min"] = "50"                          # labourers (form row 2) above its max
    rows[0]["questions"][3]["decimals"] = "two"
    d, where = survey.from_rows(rows)
    assert len(d["sections"]) == len(DEFAULT_SURVEY.sections)
    assert "max" not in d["sections"][1]["questions"][1]           # not a setting of a text question
    problems = _problems(d)
    fields = {survey.form_field(path, where) for path, _m, _p in problems}
    assert fields == {"s0_q2_max", "s0_q3_decimals"}


def test_options_lines_are_read():
    rows = survey.to_rows(DEFAULT_SURVEY)
    q = rows[4]["questions"][0]
    q["options"] = "brick_concrete=砖混\r\n\r\nearth＝土木\nbad line"
    d, where = survey.from_rows(rows)
    assert d["sections"][4]["questions"][0]["options"] == [
        {"value": "brick_concrete", "label": "砖混"}, {"value": "earth", "label": "土木"},
        {"value": "bad line", "label": ""}]
    problems = _problems(d)
    assert {survey.form_field(p, where) for p, _m, _x in problems} == {"s4_q0_options"}
