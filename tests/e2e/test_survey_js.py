"""The phone's survey check (static/js/phone/survey.js) agrees with the server's
(app/domain/survey.check_answers), in real Chromium: on many generated answer sets to the default
survey, the same questions are refused and the accepted answers are normalised to the same text —
so what the phone lets the officer finish, the server stores as it is."""
from __future__ import annotations

import random

import pytest

from app.domain.survey import DEFAULT_SURVEY, check_answers

pytestmark = pytest.mark.e2e

NUMBERS = ["5", "05", "5.0", "5.25", "6.5", "6.55", "6.50", "-1", "-0", "0", "1e3", "abc", "", " 7 ", "30", "31",
           "0.05", "1,000", "１２", "３０．５", "+3", "12.", ".5", "10000000", "10000000.01", "999999999999999"]
TEXTS = ["水稻、油菜", "  两边有空格  ", "x" * 100, "x" * 101, "a\u200bb", "行一\n行二", "e\u0301", "😀" * 100]


def _vectors(count: int = 300) -> list[dict]:
    rng = random.Random(18)
    out = []
    questions = list(DEFAULT_SURVEY.questions())
    for _ in range(count):
        answers: dict = {}
        for q in rng.sample(questions, rng.randint(1, len(questions))):
            if q.type in ("number", "money"):
                answers[q.key] = rng.choice(NUMBERS)
            elif q.type == "choice":
                answers[q.key] = rng.choice([o.value for o in q.options] + ["nope"])
            elif q.type == "yesno":
                answers[q.key] = rng.choice([True, False])
            elif q.type == "text":
                answers[q.key] = rng.choice(TEXTS)
        if rng.random() < 0.1:
            answers["not_a_question"] = "1"
        out.append(answers)
    return out


def test_the_phone_checks_survey_answers_as_the_server_does(app, live_server, phone):
    page = phone.new_page()
    page.goto(f"{live_server}/m/")
    vectors = _vectors()
    definition = DEFAULT_SURVEY.to_dict()
    got = page.evaluate("""([definition, vectors]) => import("/static/js/phone/survey.js").then((m) =>
        vectors.map((answers) => {
          const r = m.checkSurvey(definition, answers, { complete: true });
          return { answers: r.answers, errors: Object.keys(r.errors).sort() };
        }))""", [definition, vectors])
    problems = []
    for answers, phone_side in zip(vectors, got, strict=True):
        normal, errors = check_answers(DEFAULT_SURVEY, answers, complete=True)
        if sorted(errors) != phone_side["errors"] or normal != phone_side["answers"]:
            problems.append(f"{answers}: server {sorted(errors)} {normal} / phone {phone_side}")
    assert not problems, f"{len(problems)} of {len(vectors)} differ:\n" + "\n".join(problems[:5])
