"""The one name rule (app/domain/names.py): normalisation invariants and what is refused."""
from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.names import MIDDLE_DOT, normalise_name

BIDI_AND_INVISIBLE = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
                      "\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad"]


def _hidden(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Cn")


@pytest.mark.parametrize("typed,stored", [
    ("张三", "张三"),
    ("  李 四 ", "李 四"),
    ("阿卜杜拉・买买提", "阿卜杜拉·买买提"),      # katakana middle dot from a Japanese IME
    ("阿卜杜拉 • 买买提", "阿卜杜拉·买买提"),
    ("Jean-Luc O'Neil", "Jean-Luc O'Neil"),
    ("Jose\u0301 Garci\u0301a", "José García"),   # NFC
    ("王\u3000五", "王 五"),                        # full-width space
])
def test_names_are_normalised_and_accepted(typed, stored):
    assert normalise_name(typed) == (stored, [])


@pytest.mark.parametrize("typed", [
    "张\u202e三", "\u2066张三\u2069", "张\u200b三", "张三\u200f", "张\x00三", "张\x07三",
])
def test_control_and_bidirectional_characters_are_removed_and_reported(typed):
    value, problems = normalise_name(typed)
    assert value == "张三" and problems and "invisible" in problems[0][0]


@pytest.mark.parametrize("typed,word", [
    ("", "Enter"), ("   ", "Enter"), ("\u200b\u200b", "invisible"),
    ("\u0301\u0301\u0301", "letters"), ("···", "letters"), ("张", "at least"), ("张" * 51, "at most"),
    ("张三1", "only letters"), ("<script>", "only letters"), ("张三😀", "only letters"),
    ("·张三", "middle dot"), ("张三·", "middle dot"), ("阿卜杜拉··买买提", "middle dot"),
    ("\u0301张三", "accent"),
])
def test_what_a_name_cannot_be(typed, word):
    _value, problems = normalise_name(typed)
    assert problems and any(word in message for message, _ in problems), problems


@given(st.text(max_size=60))
def test_normalisation_is_idempotent_and_never_keeps_hidden_characters(text):
    value, problems = normalise_name(text)
    again, problems_again = normalise_name(value)
    assert again == value
    assert unicodedata.normalize("NFC", value) == value
    assert not any(_hidden(ch) for ch in value)
    assert value == value.strip() and "  " not in value
    if not problems:
        # What is accepted is accepted again, unchanged; and holds a letter.
        assert problems_again == [] and any(unicodedata.category(ch).startswith("L") for ch in value)
        assert not value.startswith(MIDDLE_DOT) and not value.endswith(MIDDLE_DOT)


@given(st.text(alphabet=st.sampled_from(["张", "三", "李", " ", "·"] + BIDI_AND_INVISIBLE), max_size=20))
def test_a_hidden_character_is_never_silently_accepted(text):
    value, problems = normalise_name(text)
    if any(ch in text for ch in BIDI_AND_INVISIBLE):
        assert problems
    assert not any(ch in value for ch in BIDI_AND_INVISIBLE)
