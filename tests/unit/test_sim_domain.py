"""The SIM identity the page sends (app/domain/sim.py): read strictly, fingerprinted with a key,
named safely — from the protocol's own example replies."""
from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import sim
from tests.sim_identities import NAMES, compact, header

KEY = b"test-secret"


@pytest.mark.parametrize("name, key, shown", [
    ("full", "imsi:460001234567890", "中国移动 …1234"),
    ("other-sim", "imsi:460019876543210", "中国联通 …9876"),
    ("restricted", "sub:3:46000", "中国移动 SIM 3"),
    ("no-sim", "absent", sim.ABSENT_LABEL),
])
def test_each_example_identity_has_its_canonical_key_and_a_label_without_the_imsi(name, key, shown):
    identity = sim.parse_header(header(name))
    assert sim.canonical_key(identity) == key
    assert sim.label(identity) == shown
    if identity.imsi is not None:
        assert identity.imsi not in sim.label(identity)


def test_the_serial_is_the_key_when_the_imsi_is_refused():
    data = compact("full") | {"imsi": None}
    assert sim.canonical_key(sim.parse(data)) == "serial:89860012345678901234"


def test_the_fingerprint_is_keyed_and_never_the_plain_hash():
    import hashlib

    identity = sim.parse_header(header("full"))
    fp = sim.fingerprint(identity, KEY)
    assert len(fp) == 64 and fp == sim.fingerprint(identity, KEY)
    assert fp != sim.fingerprint(identity, b"another key")
    assert fp != hashlib.sha256(b"imsi:460001234567890").hexdigest()
    assert fp != hashlib.sha256(b"460001234567890").hexdigest()
    assert "460001234567890" not in fp
    with pytest.raises(ValueError):
        sim.fingerprint(identity, b"")


def test_different_sims_have_different_fingerprints():
    fps = {sim.fingerprint(sim.parse_header(header(n)), KEY) for n in NAMES}
    assert len(fps) == len(NAMES)


def test_the_installation_id_is_read_but_not_part_of_the_fingerprint():
    a = sim.parse(compact("full"))
    b = sim.parse(compact("full") | {"installation_id": "5B0F3C1E-8A52-4D9E-9A0C-2F1D7E6B4A11"})
    assert b.installation_id == "5b0f3c1e-8a52-4d9e-9a0c-2f1d7e6b4a11"
    assert sim.fingerprint(a, KEY) == sim.fingerprint(b, KEY)


BAD = [
    ("not json", "{v:1}"),
    ("array", "[1]"),
    ("no v", json.dumps({k: v for k, v in compact("full").items() if k != "v"})),
    ("v 2", json.dumps(compact("full") | {"v": 2})),
    ("v true", json.dumps(compact("full") | {"v": True})),
    ("v 1.0", json.dumps(compact("full")).replace('"v": 1', '"v": 1.0')),
    ("extra key", json.dumps(compact("full") | {"line_number": "13800138000"})),
    ("present a string", json.dumps(compact("full") | {"present": "true"})),
    ("imsi a number", json.dumps(compact("full") | {"imsi": 460001234567890})),
    ("imsi letters", json.dumps(compact("full") | {"imsi": "46000123456789X"})),
    ("imsi too long", json.dumps(compact("full") | {"imsi": "4600012345678901"})),
    ("imsi empty", json.dumps(compact("full") | {"imsi": ""})),
    ("imsi full-width digits", json.dumps(compact("full") | {"imsi": "４６０００１２３４５６７８９０"}, ensure_ascii=True)),
    ("serial hex", json.dumps(compact("full") | {"serial": "8986001234567890123F"})),
    ("operator short", json.dumps(compact("full") | {"operator": "460"})),
    ("subscription negative", json.dumps(compact("restricted") | {"subscription_id": -1})),
    ("subscription a boolean", json.dumps(compact("restricted") | {"subscription_id": True})),
    ("subscription a string", json.dumps(compact("restricted") | {"subscription_id": "3"})),
    ("installation id not a uuid", json.dumps(compact("full") | {"installation_id": "phone-1"})),
    ("installation id hyphens misplaced", json.dumps(compact("full") | {"installation_id": "5b0f3c1e8a524d9e9a0c2f1d7e6b4a10----"})),
    ("installation id braces", json.dumps(compact("full") | {"installation_id": "{5b0f3c1e-8a52-4d9e-9a0c-2f1d7e6b}"})),
    ("absent with an imsi", json.dumps(compact("no-sim") | {"imsi": "460001234567890"})),
    ("duplicate key", header("full")[:-1] + ',"imsi":"460019876543210"}'),
    ("NaN", header("restricted").replace('"subscription_id":3', '"subscription_id":NaN')),
    ("too long", header("full")[:-1] + "," + " " * 600 + "}"),
    ("not ascii", header("full").replace("46000", "４6000")),
    ("empty", ""),
]


@pytest.mark.parametrize("why, raw", BAD, ids=[b[0] for b in BAD])
def test_a_malformed_identity_is_refused_with_the_readable_message(why, raw):
    with pytest.raises(sim.SimError) as refused:
        sim.parse_header(raw)
    assert refused.value.message == sim.INVALID


def test_a_sim_android_would_not_name_is_refused_with_what_to_allow():
    with pytest.raises(sim.SimError) as refused:
        sim.parse(compact("full") | {"imsi": None, "serial": None, "subscription_id": None})
    assert refused.value.message == sim.UNIDENTIFIED


@given(st.binary(max_size=600) | st.text(max_size=600))
def test_any_header_is_read_or_refused_never_anything_else(raw):
    try:
        identity = sim.parse_header(raw)
    except sim.SimError:
        return
    assert sim.canonical_key(identity)


@given(imsi=st.none() | st.from_regex(r"\A[0-9]{5,15}\Z"), serial=st.none() | st.from_regex(r"\A[0-9]{10,22}\Z"),
       sub=st.none() | st.integers(0, 2**31 - 1), operator=st.none() | st.from_regex(r"\A[0-9]{5,6}\Z"))
def test_a_present_sim_round_trips_and_its_label_never_shows_the_imsi(imsi, serial, sub, operator):
    data = compact("full") | {"imsi": imsi, "serial": serial, "subscription_id": sub, "operator": operator}
    raw = json.dumps(data, separators=(",", ":"))
    if imsi is None and serial is None and sub is None:
        with pytest.raises(sim.SimError):
            sim.parse_header(raw)
        return
    identity = sim.parse_header(raw)
    key = sim.canonical_key(identity)
    assert key.startswith("imsi:" if imsi else "serial:" if serial else "sub:")
    shown = sim.label(identity)
    assert len(shown) <= 40
    if imsi is not None and len(imsi) > 10:  # longer than any subscription id shown
        assert imsi not in shown
    # The same SIM read again has the same fingerprint; one digit more is another SIM.
    assert sim.fingerprint(sim.parse_header(raw), KEY) == sim.fingerprint(identity, KEY)
