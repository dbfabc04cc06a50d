"""The one version rule (app/domain/versions.py ``outdated``): the Android app below its published
minimum must install the new APK; otherwise the page below its minimum updates; a plain browser is
judged as before issue 15."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import versions

client_versions = st.one_of(
    st.tuples(*[st.integers(0, 20)] * 3).map(lambda t: ".".join(map(str, t))),
    st.text(max_size=12),  # garbled or missing: counted as the oldest
)
codes = st.integers(1, 2_100_000_000)


def _before_issue_15(version: str, minimum: str) -> str | None:
    """device_api's rule as it was: the page's version against the minimum, nothing else."""
    def as_tuple(text: str) -> tuple[int, ...]:
        try:
            return tuple(int(part) for part in text.split("."))
        except ValueError:
            return (0,)
    return "client_outdated" if as_tuple(version) < as_tuple(minimum) else None


@given(client_versions, client_versions, st.integers(0, 10**9) | st.none())
def test_without_the_app_mark_the_rule_is_unchanged(version, minimum, min_app):
    assert versions.outdated(version, None, minimum, min_app) == _before_issue_15(version, minimum)


@given(client_versions, client_versions, codes, st.integers(0, 10**9))
def test_an_app_below_the_minimum_updates_itself_first(version, minimum, app_code, min_app):
    verdict = versions.outdated(version, app_code, minimum, min_app)
    if app_code < min_app:
        assert verdict == versions.APP_OUTDATED
    else:
        assert verdict == _before_issue_15(version, minimum)


@given(client_versions, client_versions, codes)
def test_nothing_published_asks_no_app_update(version, minimum, app_code):
    assert versions.outdated(version, app_code, minimum, None) == _before_issue_15(version, minimum)


@pytest.mark.parametrize("user_agent,code", [
    ("Mozilla/5.0 (Linux; Android 13; wv) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36 DaidaitongAndroid/12", 12),
    ("Mozilla/5.0 (Linux; Android 6.0) DaidaitongAndroid/3 extra", 3),
    ("DaidaitongAndroid/7", 7),
    ("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36", None),  # a plain browser
    ("", None),
    ("Mozilla/5.0 DaidaitongAndroid/", None),
    ("Mozilla/5.0 DaidaitongAndroid/0", None),
    ("Mozilla/5.0 DaidaitongAndroid/012", None),
    ("Mozilla/5.0 DaidaitongAndroid/12a", None),
    ("Mozilla/5.0 XDaidaitongAndroid/12", None),
    ("Mozilla/5.0 DaidaitongAndroid/-3", None),
    ("Mozilla/5.0 DaidaitongAndroid/99999999999", None),  # beyond any versionCode
    ("Mozilla/5.0 DaidaitongAndroid/１２", None),  # full-width digits are not a number here
])
def test_the_app_mark_in_the_user_agent(user_agent, code):
    assert versions.app_code_of(user_agent) == code


@given(codes)
def test_any_version_code_survives_the_user_agent(code):
    assert versions.app_code_of(f"Mozilla/5.0 (Linux; Android 14; wv) Chrome/120 DaidaitongAndroid/{code}") == code


@pytest.mark.parametrize("code,latest,refused", [
    (0, 3, False), (3, 3, False), (2, 3, False), (4, 3, True), (-1, 3, True), (1, None, True),
])
def test_a_minimum_needs_a_published_app_at_or_above_it(code, latest, refused):
    assert (versions.check_app_minimum(code, latest=latest) is not None) == refused
