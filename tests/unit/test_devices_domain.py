"""A phone's model from its browser's user agent, in a few words; never an error."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.devices import MAX_LENGTH, model_from_user_agent


@pytest.mark.parametrize("ua, model", [
    ("Mozilla/5.0 (Linux; Android 13; 2201123C Build/TKQ1.221114.001; wv) AppleWebKit/537.36 Chrome/116 Mobile",
     "2201123C · Android 13"),
    ("Mozilla/5.0 (Linux; Android 12; SM-A525F) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36",
     "SM-A525F · Android 12"),
    ("Mozilla/5.0 (Linux; U; Android 9; zh-cn; MI 8 Build/PKQ1.180729.001) AppleWebKit/537.36", "MI 8 · Android 9"),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36", "Android 10"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15", "iPhone · iOS 17.1"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36", "Windows"),
    ("", ""),
    ("curl/8.5", ""),
])
def test_models_are_named_as_people_know_them(ua: str, model: str) -> None:
    assert model_from_user_agent(ua) == model


@given(st.text(max_size=400))
def test_any_header_gives_a_short_printable_name(ua: str) -> None:
    model = model_from_user_agent(ua)
    assert len(model) <= MAX_LENGTH and model.isprintable()
