"""The household survey (调查表): a product's questions as data, and the answers checked against them.

A survey is a list of sections, each a list of questions (``SurveyDefinition.from_dict`` reads the
JSON stored in ``SurveyVersion.definition`` strictly; ``to_dict`` writes it back). Question types:

- ``number``: a decimal with a ``unit`` (人, 亩, 头, 年…), ``decimals`` places (0–4, default 0) and an
  optional ``min``/``max`` (decimal strings);
- ``money``: yuan with 2 decimal places, never negative, optional ``min``/``max``;
- ``choice``: one of ``options`` (``value`` a word, ``label`` the institution's text);
- ``yesno``: true or false;
- ``text``: free text up to ``max_length`` characters (default 200);
- ``photo``: the UUID of one of the application's photos.

Keys are lower-case words, unique across the whole survey (answers are a flat dict by key). Labels
and titles are the institution's own text — data, never translated.

``check_answers(definition, answers, complete=...)`` never raises on any JSON value: it returns the
normalised answers (numbers and money as decimal strings with exactly their decimal places, text
trimmed and NFC, photo UUIDs lower-case) and the errors by question key, each an ``N_`` message with
its parameters. Unknown keys are errors, never dropped. With ``complete=False`` (a draft) required
questions may be missing; with ``complete=True`` they must be answered. Normalised answers pass
again unchanged.
"""
from __future__ import annotations

import re
import unicodedata
import uuid as _uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from app.domain.i18n import N_

__all__ = [
    "DEFAULT_SURVEY",
    "MONEY_UNIT",
    "TYPES",
    "Option",
    "Question",
    "Section",
    "SurveyDefinition",
    "SurveyError",
    "check_answers",
    "default_definition",
    "format_answer",
]

TYPES = ("number", "choice", "yesno", "money", "text", "photo")
TYPE_LABELS = {
    "number": N_("Number"),
    "choice": N_("Choice"),
    "yesno": N_("Yes / no"),
    "money": N_("Amount (yuan)"),
    "text": N_("Text"),
    "photo": N_("Photo"),
}
MONEY_UNIT = "元"
MAX_SECTIONS = 30
MAX_QUESTIONS = 200
MAX_OPTIONS = 30
MAX_LABEL = 100
MAX_UNIT = 10
MAX_DECIMALS = 4
MAX_TEXT = 2000
DEFAULT_TEXT_LENGTH = 200
# No answer or limit beyond this (the amounts fit the Money column with room to spare).
MAX_MAGNITUDE = Decimal("1000000000000")
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
_OPTION_VALUE = re.compile(r"[a-z0-9][a-z0-9_]{0,39}")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

Problem = tuple[str, dict[str, object]]


class SurveyError(ValueError):
    """An invalid survey definition: ``message`` (N_) with ``params`` — the first problem found;
    ``problems`` holds every one as ``(path, message, params)``, ``path`` like
    ``sections.0.questions.2.min`` (``sections.0.title``, ``sections``), so a form can show each at
    its field."""

    def __init__(self, message: str, params: Mapping[str, object] | None = None,
                 problems: list[tuple[str, str, dict[str, object]]] | None = None) -> None:
        self.message: str = message
        self.params: dict[str, object] = dict(params or {})
        self.problems: list[tuple[str, str, dict[str, object]]] = list(problems or [("", message, self.params)])
        try:
            text = message % self.params if self.params else message
        except (KeyError, TypeError, ValueError):
            text = message
        super().__init__(text)


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Question:
    key: str
    label: str
    type: str
    required: bool = False
    unit: str = ""
    min: Decimal | None = None
    max: Decimal | None = None
    decimals: int = 0
    options: tuple[Option, ...] = ()
    max_length: int = DEFAULT_TEXT_LENGTH

    @property
    def shown_unit(self) -> str:
        """The unit a person reads beside the answer: the question's own, or 元 for money."""
        return MONEY_UNIT if self.type == "money" else self.unit

    @property
    def places(self) -> int:
        return 2 if self.type == "money" else self.decimals

    def option_label(self, value: object) -> str | None:
        for option in self.options:
            if option.value == value:
                return option.label
        return None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"key": self.key, "label": self.label, "type": self.type}
        if self.required:
            d["required"] = True
        if self.type == "number":
            if self.unit:
                d["unit"] = self.unit
            d["decimals"] = self.decimals
        if self.type in ("number", "money"):
            if self.min is not None:
                d["min"] = _plain(self.min)
            if self.max is not None:
                d["max"] = _plain(self.max)
        if self.type == "choice":
            d["options"] = [{"value": o.value, "label": o.label} for o in self.options]
        if self.type == "text":
            d["max_length"] = self.max_length
        return d


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    questions: tuple[Question, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "questions": [q.to_dict() for q in self.questions]}


@dataclass(frozen=True)
class SurveyDefinition:
    sections: tuple[Section, ...]

    @classmethod
    def from_dict(cls, d: object) -> SurveyDefinition:
        """Read a definition strictly; raise ``SurveyError`` (all problems in ``.problems``)."""
        if isinstance(d, SurveyDefinition):
            return d
        reader = _Reader()
        definition = reader.definition(d)
        if reader.problems:
            path, message, params = reader.problems[0]
            raise SurveyError(message, params, reader.problems)
        assert definition is not None
        return definition

    def to_dict(self) -> dict[str, Any]:
        return {"sections": [s.to_dict() for s in self.sections]}

    def questions(self) -> Iterator[Question]:
        for section in self.sections:
            yield from section.questions

    def question(self, key: str) -> Question | None:
        for q in self.questions():
            if q.key == key:
                return q
        return None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(q.key for q in self.questions())


def _plain(value: Decimal) -> str:
    """A Decimal as a plain string, no exponent ("1E+3" → "1000")."""
    text = format(value, "f")
    return text


# ------------------------------------------------------------------ reading a definition
def _hidden(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Cn")


class _Reader:
    def __init__(self) -> None:
        self.problems: list[tuple[str, str, dict[str, object]]] = []

    def add(self, path: str, message: str, **params: object) -> None:
        self.problems.append((path, message, params))

    def definition(self, d: object) -> SurveyDefinition | None:
        if not isinstance(d, Mapping):
            self.add("", N_("A survey must be an object with its sections."))
            return None
        extra = sorted(str(k) for k in d if k != "sections")
        if extra:
            self.add("", N_("Unknown setting in the survey: %(name)s."), name=", ".join(extra))
        raw_sections = d.get("sections")
        if not isinstance(raw_sections, list) or not raw_sections:
            self.add("sections", N_("A survey needs at least one section."))
            return None
        if len(raw_sections) > MAX_SECTIONS:
            self.add("sections", N_("A survey has at most %(max)s sections."), max=MAX_SECTIONS)
            return None
        sections: list[Section] = []
        section_keys: set[str] = set()
        question_keys: dict[str, str] = {}
        count = 0
        for i, raw in enumerate(raw_sections):
            section = self.section(i, raw, section_keys, question_keys)
            if section is not None:
                sections.append(section)
                count += len(section.questions)
        if count > MAX_QUESTIONS:
            self.add("sections", N_("A survey has at most %(max)s questions."), max=MAX_QUESTIONS)
        return SurveyDefinition(tuple(sections))

    def text(self, path: str, value: object, what: str, where: dict[str, object], *,
             max_length: int = MAX_LABEL, required: bool = True) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str):
            self.add(path, N_("%(where)s: %(what)s must be text."), what=what, where=_where(where))
            return ""
        text = unicodedata.normalize("NFC", value).strip()
        if any(_hidden(ch) for ch in text):
            self.add(path, N_("%(where)s: %(what)s contains invisible or control characters."),
                     what=what, where=_where(where))
        if required and not text:
            self.add(path, N_("%(where)s: enter the %(what)s."), what=what, where=_where(where))
        if len(text) > max_length:
            self.add(path, N_("%(where)s: the %(what)s is longer than %(max)s characters."),
                     what=what, where=_where(where), max=max_length)
        return text

    def section(self, i: int, raw: object, section_keys: set[str],
                question_keys: dict[str, str]) -> Section | None:
        path = f"sections.{i}"
        where: dict[str, object] = {"section": i + 1}
        if not isinstance(raw, Mapping):
            self.add(path, N_("%(where)s must be an object with a key, a title and questions."),
                     where=_where(where))
            return None
        extra = sorted(str(k) for k in raw if k not in ("key", "title", "questions"))
        if extra:
            self.add(path, N_("%(where)s: unknown setting %(name)s."), where=_where(where), name=", ".join(extra))
        key = raw.get("key")
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            self.add(f"{path}.key", N_("%(where)s: the key must be a lower-case word of letters, digits "
                                       "and _ (at most 40), starting with a letter."), where=_where(where))
            key = key if isinstance(key, str) else ""
        elif key in section_keys:
            self.add(f"{path}.key", N_("%(where)s: the key %(key)s is used twice."), where=_where(where), key=key)
        section_keys.add(key)
        title = self.text(f"{path}.title", raw.get("title"), N_("title"), where)
        if title:
            where = {"section": title}
        raw_questions = raw.get("questions")
        if not isinstance(raw_questions, list) or not raw_questions:
            self.add(f"{path}.questions", N_("%(where)s has no questions."), where=_where(where))
            return Section(key, title, ())
        questions = []
        for j, rq in enumerate(raw_questions):
            q = self.question(f"{path}.questions.{j}", j, rq, dict(where), question_keys)
            if q is not None:
                questions.append(q)
        return Section(key, title, tuple(questions))

    def number(self, path: str, value: object, what: str, where: dict[str, object]) -> Decimal | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.add(path, N_("%(where)s: the %(what)s must be a number written as text, e.g. \"12.5\"."),
                     where=_where(where), what=what)
            return None
        text = str(value).strip()
        if not _NUMBER.fullmatch(text):
            self.add(path, N_("%(where)s: the %(what)s is not a number."), where=_where(where), what=what)
            return None
        number = Decimal(text)
        if abs(number) > MAX_MAGNITUDE:
            self.add(path, N_("%(where)s: the %(what)s is too large."), where=_where(where), what=what)
            return None
        return number

    def question(self, path: str, j: int, raw: object, where: dict[str, object],
                 question_keys: dict[str, str]) -> Question | None:
        where["question"] = j + 1
        if not isinstance(raw, Mapping):
            self.add(path, N_("%(where)s must be an object with a key, a label and a type."), where=_where(where))
            return None
        key = raw.get("key")
        if isinstance(key, str) and _KEY.fullmatch(key):
            where["question"] = key
            if key in question_keys:
                self.add(f"{path}.key", N_("%(where)s: the key %(key)s is already used by another question."),
                         where=_where(where), key=key)
            question_keys[key] = path
        else:
            self.add(f"{path}.key", N_("%(where)s: the key must be a lower-case word of letters, digits "
                                       "and _ (at most 40), starting with a letter."), where=_where(where))
            key = ""
        label = self.text(f"{path}.label", raw.get("label"), N_("label"), where)
        kind = raw.get("type")
        if kind not in TYPES:
            self.add(f"{path}.type", N_("%(where)s: the type must be one of %(types)s."),
                     where=_where(where), types=", ".join(TYPES))
            return None
        allowed = {"key", "label", "type", "required"}
        allowed |= {"number": {"unit", "decimals", "min", "max"}, "money": {"min", "max"},
                    "choice": {"options"}, "text": {"max_length"}}.get(str(kind), set())
        extra = sorted(str(k) for k in raw if k not in allowed)
        if extra:
            self.add(path, N_("%(where)s: %(name)s does not apply to this type of question."),
                     where=_where(where), name=", ".join(extra))
        required = raw.get("required", False)
        if not isinstance(required, bool):
            self.add(f"{path}.required", N_("%(where)s: required must be true or false."), where=_where(where))
            required = False
        unit = ""
        decimals = 0
        low = high = None
        options: tuple[Option, ...] = ()
        max_length = DEFAULT_TEXT_LENGTH
        if kind == "number":
            unit = self.text(f"{path}.unit", raw.get("unit"), N_("unit"), where, max_length=MAX_UNIT, required=False)
            decimals_raw = raw.get("decimals", 0)
            if isinstance(decimals_raw, bool) or not isinstance(decimals_raw, int) \
                    or not 0 <= decimals_raw <= MAX_DECIMALS:
                self.add(f"{path}.decimals", N_("%(where)s: decimal places must be a whole number from 0 to %(max)s."),
                         where=_where(where), max=MAX_DECIMALS)
            else:
                decimals = decimals_raw
        if kind in ("number", "money"):
            places = 2 if kind == "money" else decimals
            low = self.number(f"{path}.min", raw.get("min"), N_("minimum"), where)
            high = self.number(f"{path}.max", raw.get("max"), N_("maximum"), where)
            for name, value, what in (("min", low, N_("minimum")), ("max", high, N_("maximum"))):
                if value is not None and value != value.quantize(Decimal(1).scaleb(-places)):
                    self.add(f"{path}.{name}", N_("%(where)s: the %(what)s has more than %(places)s decimal places."),
                             where=_where(where), what=what, places=places)
            if kind == "money" and low is not None and low < 0:
                self.add(f"{path}.min", N_("%(where)s: an amount cannot be negative."), where=_where(where))
            if low is not None and high is not None and low > high:
                self.add(f"{path}.max", N_("%(where)s: the maximum is below the minimum."), where=_where(where))
        if kind == "choice":
            options = self.options(f"{path}.options", raw.get("options"), where)
        if kind == "text":
            length = raw.get("max_length", DEFAULT_TEXT_LENGTH)
            if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= MAX_TEXT:
                self.add(f"{path}.max_length", N_("%(where)s: the length limit must be a whole number from 1 to %(max)s."),
                         where=_where(where), max=MAX_TEXT)
            else:
                max_length = length
        return Question(key=key, label=label, type=str(kind), required=required, unit=unit,
                        min=_canon(low), max=_canon(high), decimals=decimals, options=options,
                        max_length=max_length)

    def options(self, path: str, raw: object, where: dict[str, object]) -> tuple[Option, ...]:
        if not isinstance(raw, list) or len(raw) < 2:
            self.add(path, N_("%(where)s: a choice needs at least two options."), where=_where(where))
            return ()
        if len(raw) > MAX_OPTIONS:
            self.add(path, N_("%(where)s: a choice has at most %(max)s options."), where=_where(where), max=MAX_OPTIONS)
            return ()
        options: list[Option] = []
        values: set[str] = set()
        labels: set[str] = set()
        for k, item in enumerate(raw):
            if not isinstance(item, Mapping) or set(item) != {"value", "label"}:
                self.add(path, N_("%(where)s: option %(n)s must have a value and a label."), where=_where(where), n=k + 1)
                continue
            value = item.get("value")
            if not isinstance(value, str) or not _OPTION_VALUE.fullmatch(value):
                self.add(path, N_("%(where)s: option %(n)s: the value must be a lower-case word of letters, "
                                  "digits and _ (at most 40)."), where=_where(where), n=k + 1)
                continue
            label = self.text(path, item.get("label"), N_("option's label"), where)
            if value in values:
                self.add(path, N_("%(where)s: the option value %(value)s is used twice."), where=_where(where), value=value)
            if label and label in labels:
                self.add(path, N_("%(where)s: the option label %(value)s is used twice."), where=_where(where), value=label)
            values.add(value)
            labels.add(label)
            options.append(Option(value, label))
        return tuple(options)


def _where(where: Mapping[str, object]) -> str:
    """Where a problem is, as the admin sees it: the section's title (or its number, #2) and the
    question's key (or its number): "家庭成员与劳动力 › members", "#2 › #3"."""
    def name(value: object) -> str:
        return f"#{value}" if isinstance(value, int) else str(value)

    section = name(where.get("section"))
    if where.get("question") is None:
        return section
    return f"{section} › {name(where.get('question'))}"


def _canon(value: Decimal | None) -> Decimal | None:
    """A limit without trailing zeros beyond what it says ("30.0" and "30" compare and print alike)."""
    if value is None:
        return None
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


# ------------------------------------------------------------------ checking answers
_TRUE = {"true", "1", "yes", "y", "是", "有"}
_FALSE = {"false", "0", "no", "n", "否", "无"}


def check_answers(definition: SurveyDefinition | Mapping[str, Any], answers: object, *,
                  complete: bool) -> tuple[dict[str, Any], dict[str, Problem]]:
    """Check ``answers`` ({question key: value}) against the survey. Never raises on any JSON value.

    Returns ``(normalised, errors)``: normalised holds the acceptable answers (missing ones are
    left out), errors maps a question key (or ``"_"`` for the whole) to ``(N_ message, params)``."""
    if not isinstance(definition, SurveyDefinition):
        definition = SurveyDefinition.from_dict(definition)
    normalised: dict[str, Any] = {}
    errors: dict[str, Problem] = {}
    if answers is None:
        answers = {}
    if not isinstance(answers, Mapping):
        return {}, {"_": (N_("The survey's answers must be a set of question and answer."), {})}
    questions = {q.key: q for q in definition.questions()}
    for key in answers:
        if key not in questions:
            name = key if isinstance(key, str) else repr(key)
            errors[str(name)[:50]] = (N_("%(key)s is not a question of this survey."), {"key": str(name)[:50]})
    for key, q in questions.items():
        value = answers.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if complete and q.required:
                errors[key] = (N_("%(label)s: this answer is required."), {"label": q.label})
            continue
        ok, result = _check_one(q, value)
        if ok:
            normalised[key] = result
        else:
            errors[key] = result
    return normalised, errors


def _range_problem(q: Question) -> Problem:
    unit = q.shown_unit
    params: dict[str, object] = {"label": q.label, "unit": unit}
    if q.min is not None and q.max is not None:
        params.update(min=_plain(q.min), max=_plain(q.max))
        return N_("%(label)s must be between %(min)s and %(max)s %(unit)s."), params
    if q.min is not None:
        params["min"] = _plain(q.min)
        return N_("%(label)s must be at least %(min)s %(unit)s."), params
    params["max"] = _plain(q.max) if q.max is not None else ""
    return N_("%(label)s must be at most %(max)s %(unit)s."), params


def _check_one(q: Question, value: object) -> tuple[bool, Any]:
    label = {"label": q.label}
    if q.type in ("number", "money"):
        if isinstance(value, bool):
            return False, (N_("%(label)s: enter a number."), label)
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                return False, (N_("%(label)s: enter a number."), label)
            text = repr(value)
            if "e" in text or "E" in text:
                return False, (N_("%(label)s: enter a number."), label)
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, str):
            text = unicodedata.normalize("NFKC", value).strip().replace(",", "").replace(" ", "")
        else:
            return False, (N_("%(label)s: enter a number."), label)
        if len(text) > 40 or not _NUMBER.fullmatch(text):
            return False, (N_("%(label)s: enter a number."), label)
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            return False, (N_("%(label)s: enter a number."), label)
        if abs(number) > MAX_MAGNITUDE:
            if q.min is not None or q.max is not None:
                return False, _range_problem(q)
            return False, (N_("%(label)s: the number is too large."), label)
        places = q.places
        step = Decimal(1).scaleb(-places)
        if number != number.quantize(step, rounding=ROUND_DOWN):
            if places == 0:
                return False, (N_("%(label)s: enter a whole number."), label)
            return False, (N_("%(label)s: at most %(places)s decimal places."), {**label, "places": places})
        if q.type == "money" and number < 0:
            return False, (N_("%(label)s: an amount cannot be negative."), label)
        if (q.min is not None and number < q.min) or (q.max is not None and number > q.max):
            return False, _range_problem(q)
        normal = number.quantize(step)
        if normal == 0:
            normal = abs(normal)  # "-0" is 0
        return True, _plain(normal)
    if q.type == "choice":
        if isinstance(value, str) and q.option_label(value) is not None:
            return True, value
        return False, (N_("%(label)s: choose one of the options."), label)
    if q.type == "yesno":
        if isinstance(value, bool):
            return True, value
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE:
                return True, True
            if word in _FALSE:
                return True, False
        return False, (N_("%(label)s: answer yes or no."), label)
    if q.type == "text":
        if not isinstance(value, str):
            return False, (N_("%(label)s: enter text."), label)
        text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").strip()
        if any(_hidden(ch) and ch != "\n" for ch in text):
            return False, (N_("%(label)s contains invisible or control characters."), label)
        if len(text) > q.max_length:
            return False, (N_("%(label)s is longer than %(max)s characters."), {**label, "max": q.max_length})
        return True, text
    # photo
    if isinstance(value, str):
        text = value.strip().lower()
        if _UUID.fullmatch(text):
            try:
                return True, str(_uuid.UUID(text))
            except ValueError:  # pragma: no cover - the pattern admits only UUIDs
                pass
    return False, (N_("%(label)s: not a photo of this application."), label)


def format_answer(q: Question, value: object) -> str:
    """An answer as a person reads it (without the unit): the option's label, 是/否 left to the
    caller's translation ("yes"/"no" returned as True/False → "Yes"/"No" msgids)."""
    if value is None:
        return ""
    if q.type == "choice":
        return q.option_label(value) or str(value)
    if q.type == "yesno":
        return N_("Yes") if value is True else N_("No")
    return str(value)


# ------------------------------------------------------------------ the shipped default
def _n(key: str, label: str, unit: str, low: str, high: str, *, decimals: int = 0,
       required: bool = True) -> dict[str, Any]:
    d: dict[str, Any] = {"key": key, "label": label, "type": "number", "unit": unit, "decimals": decimals,
                         "min": low, "max": high}
    if required:
        d["required"] = True
    return d


def _m(key: str, label: str, high: str = "10000000", *, required: bool = True) -> dict[str, Any]:
    d: dict[str, Any] = {"key": key, "label": label, "type": "money", "min": "0", "max": high}
    if required:
        d["required"] = True
    return d


_DEFAULT: dict[str, Any] = {"sections": [
    {"key": "household", "title": "家庭成员与劳动力", "questions": [
        _n("members", "家庭人口", "人", "1", "30"),
        _n("labourers", "劳动力人数", "人", "0", "30"),
        _n("years_in_village", "在本村居住年限", "年", "0", "120"),
    ]},
    {"key": "production", "title": "土地与生产", "questions": [
        _n("land_mu", "耕种土地面积", "亩", "0", "1000", decimals=1),
        {"key": "main_crops", "label": "主要作物", "type": "text", "max_length": 100},
        _n("livestock_heads", "牲畜存栏", "头", "0", "10000"),
    ]},
    {"key": "income", "title": "家庭年收入", "questions": [
        _m("crop_income", "种植收入"),
        _m("livestock_income", "养殖收入"),
        _m("wage_income", "务工收入"),
        _m("business_income", "经营收入"),
        _m("other_income", "其他收入", required=False),
    ]},
    {"key": "expenses", "title": "家庭年支出", "questions": [
        _m("living_expenses", "生活支出"),
        _m("production_expenses", "生产支出"),
    ]},
    {"key": "assets", "title": "住房与资产", "questions": [
        {"key": "house_type", "label": "住房结构", "type": "choice", "required": True, "options": [
            {"value": "brick_concrete", "label": "砖混"},
            {"value": "brick_wood", "label": "砖木"},
            {"value": "earth", "label": "土木"},
        ]},
        _m("house_value", "住房估值"),
        {"key": "has_vehicle", "label": "有农用车或汽车", "type": "yesno", "required": True},
        {"key": "house_photo", "label": "住房照片", "type": "photo"},
    ]},
    {"key": "debts", "title": "负债", "questions": [
        _m("formal_debt", "银行及信用社贷款余额"),
        _m("informal_debt", "民间借款余额"),
        _m("yearly_debt_service", "每年还本付息"),
    ]},
    {"key": "village", "title": "村委评议", "questions": [
        {"key": "committee_rating", "label": "村委评议", "type": "choice", "required": True, "options": [
            {"value": "excellent", "label": "好"},
            {"value": "good", "label": "较好"},
            {"value": "fair", "label": "一般"},
            {"value": "poor", "label": "差"},
        ]},
    ]},
]}

# The shipped default survey, read by the same strict reader (a bad default fails at import).
# Immutable; ``DEFAULT_SURVEY.to_dict()`` gives a fresh JSON-ready dict to store.
DEFAULT_SURVEY: SurveyDefinition = SurveyDefinition.from_dict(_DEFAULT)


def default_definition() -> dict[str, Any]:
    """The default survey as a fresh JSON-ready dict (what a product's version 1 stores)."""
    return DEFAULT_SURVEY.to_dict()


# ------------------------------------------------------------------ the admin's form
ROW_FIELDS = ("key", "label", "type", "unit", "required", "min", "max", "decimals", "options", "max_length")


def to_rows(definition: SurveyDefinition) -> list[dict[str, Any]]:
    """The survey as the admin's form shows it: every field a string (options as "value=label" lines)."""
    sections = []
    for s in definition.sections:
        questions = []
        for q in s.questions:
            questions.append({
                "key": q.key, "label": q.label, "type": q.type, "unit": q.unit, "required": q.required,
                "min": _plain(q.min) if q.min is not None else "", "max": _plain(q.max) if q.max is not None else "",
                "decimals": str(q.decimals) if q.type == "number" else "",
                "options": "\n".join(f"{o.value}={o.label}" for o in q.options),
                "max_length": str(q.max_length) if q.type == "text" else "",
            })
        sections.append({"key": s.key, "title": s.title, "questions": questions})
    return sections


def _blank(row: Mapping[str, Any], names: tuple[str, ...]) -> bool:
    return not any(str(row.get(n) or "").strip() for n in names)


def from_rows(rows: list[Mapping[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The admin's form rows → a definition dict for ``SurveyDefinition.from_dict``, and where each
    path of the definition came from in the rows (``"sections.0.questions.1"`` → ``"s0_q2"``), so a
    problem is shown at its field. Rows left wholly blank are skipped (the form's empty rows); what
    does not apply to a question's type is left out; whole numbers typed as text are read, anything
    else is passed on for the strict reader to name."""
    sections: list[dict[str, Any]] = []
    where: dict[str, str] = {}
    for i, s in enumerate(rows):
        questions_in = [q for q in (s.get("questions") or [])]
        kept = [(j, q) for j, q in enumerate(questions_in) if not _blank(q, ("key", "label", "min", "max", "unit", "options"))]
        if _blank(s, ("key", "title")) and not kept:
            continue
        a = len(sections)
        where[f"sections.{a}"] = f"s{i}"
        questions: list[dict[str, Any]] = []
        for j, q in kept:
            where[f"sections.{a}.questions.{len(questions)}"] = f"s{i}_q{j}"
            kind = str(q.get("type") or "").strip()
            d: dict[str, Any] = {"key": str(q.get("key") or "").strip(), "label": str(q.get("label") or ""),
                                 "type": kind}
            if q.get("required") in (True, "1", "on", "true"):
                d["required"] = True
            if kind == "number":
                d["unit"] = str(q.get("unit") or "")
                d["decimals"] = _int_or_text(q.get("decimals"), 0)
            if kind in ("number", "money"):
                for name in ("min", "max"):
                    text = str(q.get(name) or "").strip()
                    if text:
                        d[name] = text
            if kind == "choice":
                d["options"] = _options(str(q.get("options") or ""))
            if kind == "text":
                d["max_length"] = _int_or_text(q.get("max_length"), DEFAULT_TEXT_LENGTH)
            questions.append(d)
        sections.append({"key": str(s.get("key") or "").strip(), "title": str(s.get("title") or ""),
                         "questions": questions})
    return {"sections": sections}, where


def _int_or_text(value: object, default: int) -> object:
    text = str(value if value is not None else "").strip()
    if not text:
        return default
    return int(text) if text.isascii() and text.isdigit() and len(text) < 6 else text


def _options(text: str) -> list[dict[str, str]]:
    options = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        value, sep, label = line.partition("=")
        if not sep:
            value, sep, label = line.partition("＝")
        options.append({"value": value.strip(), "label": label.strip()})
    return options


def form_field(path: str, where: Mapping[str, str]) -> str:
    """A problem's definition path → the form field it belongs to (``s0_q2_min``, ``s0_title``,
    ``s0_q2`` for the row, ``s0`` for the section, ``_`` for the whole)."""
    parts = path.split(".") if path else []
    if len(parts) >= 4 and parts[2] == "questions":
        row = where.get(".".join(parts[:4]))
        if row is None:
            return "_"
        return f"{row}_{parts[4]}" if len(parts) > 4 else row
    if len(parts) >= 2 and parts[0] == "sections":
        section = where.get(".".join(parts[:2]))
        if section is None:
            return "_"
        return f"{section}_{parts[2]}" if len(parts) > 2 else section
    return "_"
