"""validate_image on real files made with Pillow: good photos, and each way an upload goes wrong."""
from __future__ import annotations

import io
import pickle
import random
import struct
import warnings
import zlib
from pathlib import Path

import pytest
from PIL import Image

from app.storage import LocalPhotoStore, sha256_of_file
from app.storage.validation import ImageInfo, PhotoRejected, validate_image

MB = 1024 * 1024
LIMITS = {"max_bytes": 20 * MB, "max_pixels": 50_000_000}
ORIENTATION = 0x0112


def noise_image(size: tuple[int, int], mode: str = "RGB", seed: int = 1) -> Image.Image:
    """Random pixels: encodes to a realistic, incompressible size."""
    channels = len(mode)
    data = random.Random(seed).randbytes(size[0] * size[1] * channels)
    return Image.frombytes(mode, size, data)


def write_jpeg(path: Path, img: Image.Image, **save_options: object) -> Path:
    img.save(path, "JPEG", quality=90, **save_options)
    return path


def with_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return exif.tobytes()


def set_jpeg_dimensions(data: bytes, width: int, height: int) -> bytes:
    """Rewrite the frame header (SOFn) of a JPEG to declare another size; the pixel data stays."""
    pos = 2  # after SOI
    while pos < len(data):
        assert data[pos] == 0xFF, "not at a JPEG marker"
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            # FF Cn, length(2), precision(1), height(2), width(2)
            return data[: pos + 5] + struct.pack(">HH", height, width) + data[pos + 9 :]
        pos += 2 + length
    raise AssertionError("no frame header found")


@pytest.fixture()
def good_jpeg(tmp_path: Path) -> Path:
    return write_jpeg(tmp_path / "photo.jpg", noise_image((1600, 1200)))


def rejection(path: Path, **limits: int) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as caught:
        validate_image(path, **{**LIMITS, **limits})
    return caught.value


# -- accepted ------------------------------------------------------------------------------------


def test_good_jpeg(good_jpeg: Path) -> None:
    assert good_jpeg.stat().st_size > 500_000  # really a photo-sized file
    assert validate_image(good_jpeg, **LIMITS) == ImageInfo("JPEG", "image/jpeg", 1600, 1200)


def test_good_png(tmp_path: Path) -> None:
    path = tmp_path / "form.png"
    noise_image((800, 600), "RGBA").save(path, "PNG")
    assert validate_image(path, **LIMITS) == ImageInfo("PNG", "image/png", 800, 600)


def test_multi_picture_jpeg_from_a_phone_is_a_jpeg(tmp_path: Path) -> None:
    # Phones embed previews/depth maps; Pillow names such files "MPO".
    path = tmp_path / "mpo.jpg"
    first, second = noise_image((640, 480), seed=1), noise_image((640, 480), seed=2)
    first.save(path, "MPO", save_all=True, append_images=[second])
    with Image.open(path) as img:
        assert img.format == "MPO"
    assert validate_image(path, **LIMITS) == ImageInfo("JPEG", "image/jpeg", 640, 480)


@pytest.mark.parametrize(
    ("orientation", "expected_size"),
    [(1, (1600, 1200)), (3, (1600, 1200)), (5, (1200, 1600)), (6, (1200, 1600)), (8, (1200, 1600))],
)
def test_exif_orientation_gives_upright_size(
    tmp_path: Path, orientation: int, expected_size: tuple[int, int]
) -> None:
    path = write_jpeg(tmp_path / "rotated.jpg", noise_image((1600, 1200)), exif=with_orientation(orientation))
    info = validate_image(path, **LIMITS)
    assert (info.width, info.height) == expected_size


def test_rotated_photo_thumbnail_is_upright(tmp_path: Path) -> None:
    # A phone held upright stores a landscape sensor image with orientation 6 ("rotate 90° clockwise
    # to display"). Mark the stored top-left corner red: upright, it must be at the top-right.
    stored = Image.new("RGB", (1600, 1200), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 400, 300))
    path = write_jpeg(tmp_path / "upright.jpg", stored, exif=with_orientation(6))
    info = validate_image(path, **LIMITS)
    assert (info.width, info.height) == (1200, 1600)

    store = LocalPhotoStore(tmp_path / "store")
    sha256 = sha256_of_file(path)
    store.put_file(sha256, path)
    thumb = Image.open(io.BytesIO(store.derivative(sha256, "thumb")))
    assert thumb.format == "JPEG"
    assert thumb.size == (240, 320)  # portrait, long edge 320
    assert not thumb.getexif().get(ORIENTATION)  # baked in, so no viewer rotates it twice
    red_at_top_right = thumb.getpixel((thumb.width - 10, 10))
    blue_at_top_left = thumb.getpixel((10, 10))
    assert red_at_top_right[0] > 200 and red_at_top_right[2] < 60
    assert blue_at_top_left[2] > 200 and blue_at_top_left[0] < 60


# -- refused -------------------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    assert rejection(path).code == "empty"


def test_file_over_the_size_limit(good_jpeg: Path) -> None:
    size = good_jpeg.stat().st_size
    refused = rejection(good_jpeg, max_bytes=size - 1)
    assert refused.code == "too_large"
    assert "%(limit_mb)s MB" in refused.message
    assert set(refused.params) == {"size_mb", "limit_mb"}
    assert " MB" in str(refused)
    # Exactly at the limit is allowed.
    assert validate_image(good_jpeg, max_bytes=size, max_pixels=LIMITS["max_pixels"]).format == "JPEG"


def test_limit_is_given_in_megabytes(good_jpeg: Path) -> None:
    assert good_jpeg.stat().st_size > MB
    assert rejection(good_jpeg, max_bytes=MB).params["limit_mb"] == 1
    assert rejection(good_jpeg, max_bytes=MB // 2).params["limit_mb"] == 0.5


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("借款调查表 — not a picture at all\n" * 50, encoding="utf-8")
    assert rejection(path).code == "not_image"


@pytest.mark.parametrize("image_format", ["GIF", "BMP", "TIFF"])
def test_other_image_formats(tmp_path: Path, image_format: str) -> None:
    path = tmp_path / f"picture.{image_format.lower()}"
    noise_image((64, 48)).save(path, image_format)
    refused = rejection(path)
    assert refused.code == "unsupported_format"
    assert refused.params == {"format": image_format}


def test_truncated_jpeg(good_jpeg: Path) -> None:
    data = good_jpeg.read_bytes()
    good_jpeg.write_bytes(data[: len(data) // 2])
    assert rejection(good_jpeg).code == "truncated"


def test_truncated_png(tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    noise_image((800, 600)).save(path, "PNG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert rejection(path).code == "truncated"


def test_corrupt_png_data(tmp_path: Path) -> None:
    path = tmp_path / "zeroed.png"
    noise_image((800, 600)).save(path, "PNG")
    data = bytearray(path.read_bytes())
    # Headers and the end chunk intact, the compressed pixels in between zeroed.
    data[len(data) // 3 : -12] = bytes(len(data) - 12 - len(data) // 3)
    path.write_bytes(bytes(data))
    assert rejection(path).code == "truncated"


def test_100_megapixel_photo(tmp_path: Path) -> None:
    # A solid colour: cheap to make and tiny on disk, yet 10000 x 10000 pixels once decoded.
    path = tmp_path / "huge.jpg"
    Image.new("L", (10_000, 10_000), 128).save(path, "JPEG")
    assert path.stat().st_size < LIMITS["max_bytes"]
    refused = rejection(path)
    assert refused.code == "too_many_pixels"
    assert refused.params == {"limit_megapixels": 50}


def set_png_dimensions(data: bytes, width: int, height: int) -> bytes:
    """Rewrite the IHDR chunk of a PNG to declare another size (with a valid CRC)."""
    assert data[12:16] == b"IHDR"
    ihdr = b"IHDR" + struct.pack(">II", width, height) + data[24:29]
    return data[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + data[33:]


def test_pixel_limit_checked_before_decoding(tmp_path: Path) -> None:
    # A decompression bomb: a small file whose header declares 8000 x 6000 pixels (under Pillow's own
    # limit) with data for only 64 x 48. Decoding fails, so a "too_many_pixels" answer proves the
    # header was checked first.
    small = io.BytesIO()
    noise_image((64, 48)).save(small, "PNG")
    path = tmp_path / "bomb.png"
    path.write_bytes(set_png_dimensions(small.getvalue(), 8000, 6000))
    assert rejection(path, max_pixels=10_000_000).code == "too_many_pixels"
    # Within a larger limit it gets as far as decoding, and fails there.
    assert rejection(path, max_pixels=100_000_000).code == "truncated"


def test_jpeg_pixel_limit_checked_from_the_header(tmp_path: Path) -> None:
    small = io.BytesIO()
    noise_image((64, 48)).save(small, "JPEG")
    path = tmp_path / "bomb.jpg"
    path.write_bytes(set_jpeg_dimensions(small.getvalue(), 8000, 6000))
    assert path.stat().st_size < 20_000
    assert rejection(path, max_pixels=10_000_000).code == "too_many_pixels"


def test_pillow_bomb_guard_counts_as_too_many_pixels(tmp_path: Path) -> None:
    # Our limit above Pillow's (about 89 megapixels): Pillow's own warning is turned into a refusal.
    path = tmp_path / "huge.png"
    Image.new("1", (10_000, 10_000)).save(path, "PNG")
    assert 10_000 * 10_000 > Image.MAX_IMAGE_PIXELS
    refused = rejection(path, max_pixels=500_000_000)
    assert refused.code == "too_many_pixels"


def test_pillow_global_state_is_left_alone(tmp_path: Path, good_jpeg: Path) -> None:
    max_pixels_before = Image.MAX_IMAGE_PIXELS
    filters_before = list(warnings.filters)
    validate_image(good_jpeg, **LIMITS)
    huge = tmp_path / "huge.png"
    Image.new("1", (10_000, 10_000)).save(huge, "PNG")
    rejection(huge, max_pixels=500_000_000)
    assert Image.MAX_IMAGE_PIXELS == max_pixels_before
    assert warnings.filters == filters_before


def test_every_refusal_has_a_message_for_the_officer(tmp_path: Path, good_jpeg: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    text = tmp_path / "text"
    text.write_text("hello")
    refusals = [rejection(empty), rejection(text), rejection(good_jpeg, max_bytes=10)]
    for refused in refusals:
        assert isinstance(refused, ValueError)
        assert refused.message and refused.message[0].isupper()
        assert pickle.loads(pickle.dumps(refused)).code == refused.code
