"""The APK manifest reader (app/domain/apk.py): on APKs aapt built (tests/vectors/android/), on the
real app when it has been built (make android), on manifests written independently
(tests/support/axml.py) in every encoding, and on damaged input, which is always an ApkError."""
from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import apk
from tests.support import axml

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "android"
REAL_APK = ROOT / "android_wrapper" / "build" / "daidaitong-officer.apk"


@pytest.mark.parametrize("name,package,code,version_name,signed", [
    ("officer-1.apk", "com.daidaitong.officer", 1, "0.1.0", True),
    ("officer-2.apk", "com.daidaitong.officer", 2, "0.2.0", True),
    ("officer-3.apk", "com.daidaitong.officer", 3, "0.3.0 测试", True),
    ("other-package.apk", "com.example.other", 9, "9.0", True),
    ("officer-4-unsigned.apk", "com.daidaitong.officer", 4, "0.4.0", False),
])
def test_reads_what_aapt_compiled_and_apksigner_signed(name, package, code, version_name, signed):
    with (VECTORS / name).open("rb") as f:
        assert apk.read_apk(f) == apk.ApkManifest(package, code, version_name, 23, v1_signed=signed)


@pytest.mark.parametrize("entries,signed", [
    (["META-INF/MANIFEST.MF", "META-INF/CERT.SF", "META-INF/CERT.RSA"], True),
    (["META-INF/MANIFEST.MF", "META-INF/KEY.SF", "META-INF/KEY.EC"], True),
    (["META-INF/MANIFEST.MF", "META-INF/CERT.SF"], False),  # no signature block
    (["META-INF/MANIFEST.MF", "META-INF/CERT.SF", "META-INF/OTHER.RSA"], False),  # the block of no .SF
    (["META-INF/CERT.SF", "META-INF/CERT.RSA"], False),  # no manifest
    (["META-INF/MANIFEST.MF", "res/CERT.SF", "res/CERT.RSA"], False),  # not under META-INF
])
def test_a_v1_signature_needs_its_manifest_signature_file_and_block(entries, signed):
    data = axml.apk(axml.manifest("com.daidaitong.officer", 2), extra={name: b"x" for name in entries})
    assert apk.read_apk(io.BytesIO(data)).v1_signed is signed


@pytest.mark.skipif(not REAL_APK.is_file(), reason="the app is not built here (make android)")
def test_reads_the_real_app():
    with REAL_APK.open("rb") as f:
        found = apk.read_apk(f)
    assert found.package == "com.daidaitong.officer" and found.version_code >= 1 and found.version_name
    assert found.v1_signed
    assert found.min_sdk == 23


names = st.from_regex(r"[a-z][a-z0-9_]{0,15}(\.[a-z][a-z0-9_]{0,15}){1,3}", fullmatch=True)
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(package=names, code=st.integers(1, 2_100_000_000), version_name=texts | st.none(),
       min_sdk=st.integers(1, 40) | st.none(), utf8=st.booleans(), how=st.sampled_from(["both", "ids", "names"]))
def test_round_trip_of_any_manifest(package, code, version_name, min_sdk, utf8, how):
    data = axml.manifest(package, code, version_name, min_sdk=min_sdk, utf8=utf8,
                         ids=how != "names", names=how != "ids")
    assert apk.read_manifest(data) == apk.ApkManifest(package, code, version_name, min_sdk)
    assert apk.read_apk(io.BytesIO(axml.apk(data))) == apk.ApkManifest(package, code, version_name, min_sdk)


@pytest.mark.parametrize("data,message", [
    (b"", apk.NOT_A_ZIP),
    (b"PK\x03\x04 not really", apk.NOT_A_ZIP),
    ((VECTORS / "officer-1.apk").read_bytes()[:300], apk.NOT_A_ZIP),  # cut short: no central directory
    (axml.apk(b"", extra={}), apk.BAD_MANIFEST),
])
def test_what_is_not_an_apk_says_so(data, message):
    with pytest.raises(apk.ApkError) as e:
        apk.read_apk(io.BytesIO(data))
    assert e.value.message == message


def test_a_zip_without_a_manifest_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("classes.dex", b"dex\n035\0")
    with pytest.raises(apk.ApkError) as e:
        apk.read_apk(out)
    assert e.value.message == apk.NO_MANIFEST


def test_a_manifest_too_large_to_be_real_is_refused_before_inflating():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("AndroidManifest.xml", b"\0" * (apk.MAX_MANIFEST_BYTES + 1))
    assert len(out.getvalue()) < 10_000
    with pytest.raises(apk.ApkError) as e:
        apk.read_apk(out)
    assert e.value.message == apk.BAD_MANIFEST


@pytest.mark.parametrize("data,message", [
    (axml.manifest(None, 3), apk.NO_PACKAGE),
    (axml.manifest("com.daidaitong.officer", None), apk.NO_VERSION_CODE),
    (axml.manifest("com.daidaitong.officer", 0), apk.NO_VERSION_CODE),
    (axml.manifest("com.daidaitong.officer", 3, root="application"), apk.BAD_MANIFEST),
    (b"<?xml version='1.0'?><manifest package='x'/>", apk.BAD_MANIFEST),  # plain-text XML: not compiled
])
def test_a_manifest_without_what_we_need_is_refused(data, message):
    with pytest.raises(apk.ApkError) as e:
        apk.read_manifest(data)
    assert e.value.message == message


GOOD = axml.manifest("com.daidaitong.officer", 7, "0.7.0", utf8=True)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_damaged_manifests_are_an_apk_error_never_a_crash(data):
    blob = bytearray(GOOD)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(blob) - 1))
        blob[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(blob)))
    try:
        found = apk.read_manifest(bytes(blob[:cut]) if data.draw(st.booleans()) else bytes(blob))
    except apk.ApkError:
        return
    assert isinstance(found.package, str) and isinstance(found.version_code, int) and found.version_code >= 1


def test_a_chunk_claiming_more_than_the_file_is_refused():
    blob = bytearray(GOOD)
    struct.pack_into("<I", blob, 8 + 4, 0x7FFFFFFF)  # the string pool's size
    with pytest.raises(apk.ApkError):
        apk.read_manifest(bytes(blob))
