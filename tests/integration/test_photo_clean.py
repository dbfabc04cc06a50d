"""What is served in place of an original (app/storage/clean.py): whatever metadata and foreign
bytes a file carries, the cleaned copy decodes to exactly the same pixels and carries none of them."""
from __future__ import annotations

import hashlib
import io
import random
import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from app.storage import clean_original, make_store
from app.storage.clean import clean_image
from tests.sync_helpers import GPS_IFD, ORIENTATION, jpeg_bytes, jpeg_with_gps

TOKEN = b"<script>TOKEN</script>"


def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGBA").tobytes()


def _exif(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as img:
        exif = img.getexif()
        return {"tags": dict(exif), "gps": dict(exif.get_ifd(GPS_IFD))}


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _base_jpeg(seed: int, progressive: bool, restart: bool, orientation: int) -> bytes:
    rng = random.Random(seed)
    img = Image.effect_noise((rng.randrange(16, 90), rng.randrange(16, 90)), 80).convert("RGB")
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (30.0, 39.0, 36.5)})
    out = io.BytesIO()
    img.save(out, "JPEG", quality=rng.randrange(50, 96), progressive=progressive, exif=exif.tobytes(),
             **({"restart_marker_blocks": 1} if restart else {}))
    return out.getvalue()


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    progressive=st.booleans(),
    restart=st.booleans(),
    orientation=st.integers(1, 8),
    inserted=st.lists(st.tuples(st.sampled_from([0xE1, 0xE2, 0xE3, 0xEC, 0xED, 0xEF, 0xFE]), st.binary(max_size=200)), max_size=4),
    tail=st.binary(max_size=300),
)
def test_a_cleaned_jpeg_has_the_same_pixels_and_nothing_else(seed, progressive, restart, orientation, inserted, tail):
    base = _base_jpeg(seed, progressive, restart, orientation)
    # Foreign segments right after SOI (comments, XMP-like APP1, Photoshop APP13...), and bytes after EOI.
    extra = b"".join(_segment(marker, TOKEN + payload) for marker, payload in inserted)
    hostile = base[:2] + extra + base[2:] + TOKEN + tail
    cleaned = clean_image(hostile)
    assert TOKEN not in cleaned
    assert _pixels(cleaned) == _pixels(base)
    assert cleaned.endswith(b"\xff\xd9") and cleaned.startswith(b"\xff\xd8")
    meta = _exif(cleaned)
    assert meta["gps"] == {}
    assert meta["tags"] == ({} if orientation == 1 else {ORIENTATION: orientation})
    assert clean_image(cleaned) == cleaned  # a clean file stays as it is


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), orientation=st.integers(1, 8), mode=st.sampled_from(["RGB", "RGBA", "L", "P"]),
       text=st.binary(max_size=100), tail=st.binary(max_size=100))
def test_a_cleaned_png_has_the_same_pixels_and_nothing_else(seed, orientation, mode, text, tail):
    img = Image.effect_noise((40 + seed % 30, 30), 80).convert(mode)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", TOKEN.decode() + text.hex())
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>" + TOKEN.decode() + "</x:xmpmeta>")
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N"})
    out = io.BytesIO()
    img.save(out, "PNG", pnginfo=info, exif=exif.tobytes())
    base = out.getvalue()
    cleaned = clean_image(base + TOKEN + tail)
    assert TOKEN not in cleaned
    assert _pixels(cleaned) == _pixels(base)
    meta = _exif(cleaned)
    assert meta["gps"] == {} and meta["tags"] == ({} if orientation == 1 else {ORIENTATION: orientation})


def test_a_plain_camera_jpeg_passes_byte_for_byte():
    plain = jpeg_bytes(seed=5)
    assert clean_image(plain) == plain


def test_a_file_the_parser_cannot_follow_is_reencoded_not_passed_through():
    # Junk between two segments: decoders skip it, the cleaner does not guess — it lets Pillow
    # re-encode the picture upright, with no metadata.
    base = jpeg_with_gps(300, 200, seed=6, orientation=6)
    after_exif = 4 + struct.unpack(">H", base[4:6])[0]
    hostile = base[:after_exif] + TOKEN + base[after_exif:]
    with Image.open(io.BytesIO(hostile)) as img:
        img.load()  # what the store accepted: Pillow decodes it
    cleaned = clean_image(hostile)
    assert TOKEN not in cleaned
    with Image.open(io.BytesIO(cleaned)) as img:
        assert img.size == (200, 300) and not img.getexif()


def test_the_store_keeps_the_original_and_serves_it_clean(tmp_path):
    store = make_store({"PHOTO_DIR": str(tmp_path)})
    original = jpeg_with_gps(seed=7, appended=TOKEN)
    src = tmp_path / "upload"
    src.write_bytes(original)
    digest = hashlib.sha256(original).hexdigest()
    store.put_file(digest, src)
    served = clean_original(store, digest)
    assert TOKEN not in served and _pixels(served) == _pixels(original)
    with store.open(digest) as f:
        assert f.read() == original
