"""The photo stores — LocalPhotoStore on a real directory, S3PhotoStore in a real SeaweedFS bucket —
behave the same: objects by hash, derivatives, and the hash guard. What only one of them has is
checked beside (the files on disk here; the object store's own in test_s3_store.py)."""
from __future__ import annotations

import hashlib
import io
import random
import threading
from pathlib import Path

import pytest
from PIL import Image

from app.storage import LocalPhotoStore, check_sha256, make_store, sha256_of_file
from tests.support.stores import make_test_store, store_has_derivative


def photo_bytes(size: tuple[int, int] = (2000, 1500), image_format: str = "JPEG", seed: int = 1) -> bytes:
    data = random.Random(seed).randbytes(size[0] * size[1] * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", size, data).save(out, image_format)
    return out.getvalue()


def staged(store: LocalPhotoStore, data: bytes, name: str = "upload.part") -> tuple[str, Path]:
    """An upload received into the store's uploads directory, with its hash."""
    path = store.uploads_dir / name
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest(), path


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path: Path):
    return make_test_store(request.param, tmp_path)


@pytest.fixture()
def local_store(tmp_path: Path) -> LocalPhotoStore:
    return LocalPhotoStore(tmp_path / "photos")


def _on_disk(store) -> bool:
    return isinstance(store, LocalPhotoStore)


def test_directories_created(tmp_path: Path) -> None:
    store = LocalPhotoStore(tmp_path / "new" / "photos")
    for name in ("objects", "derived", "uploads"):
        assert (tmp_path / "new" / "photos" / name).is_dir()
    assert store.uploads_dir == tmp_path / "new" / "photos" / "uploads"


def test_round_trip(store: LocalPhotoStore) -> None:
    data = b"\xff\xd8 not really a photo, the store does not care \xff\xd9"
    sha256, src = staged(store, data)
    assert not store.exists(sha256)

    store.put_file(sha256, src)

    assert not src.exists()  # moved, not copied
    assert store.exists(sha256)
    assert store.size(sha256) == len(data)
    with store.open(sha256) as f:
        assert f.read() == data
    if _on_disk(store):
        assert (store.root / "objects" / sha256[:2] / sha256[2:4] / sha256).read_bytes() == data
    else:
        assert store.client.get_object(Bucket=store.bucket, Key=store.object_key(sha256))["Body"].read() == data

    store.delete(sha256)
    assert not store.exists(sha256)
    with pytest.raises(FileNotFoundError):
        store.open(sha256)
    with pytest.raises(FileNotFoundError):
        store.size(sha256)
    store.delete(sha256)  # already gone: no error


def test_put_from_outside_the_store(store: LocalPhotoStore, tmp_path: Path) -> None:
    src = tmp_path / "elsewhere.jpg"
    src.write_bytes(b"photo")
    sha256 = sha256_of_file(src)
    store.put_file(sha256, src)
    assert not src.exists()
    assert store.open(sha256).read() == b"photo"


def test_put_of_a_known_hash_is_idempotent(local_store: LocalPhotoStore) -> None:
    # The object store's own: test_s3_store.py::test_put_of_a_stored_hash_is_idempotent_and_consumes_the_source
    store = local_store
    data = photo_bytes((64, 48))
    sha256, first = staged(store, data, "first.part")
    store.put_file(sha256, first)
    stored = store.object_path(sha256)
    mtime_before = stored.stat().st_mtime_ns

    sha256_again, second = staged(store, data, "second.part")
    store.put_file(sha256_again, second)

    assert not second.exists()  # the duplicate upload is discarded
    assert stored.stat().st_mtime_ns == mtime_before  # the stored object was not rewritten
    assert store.open(sha256).read() == data


def test_missing_source_is_an_error(store: LocalPhotoStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.put_file("a" * 64, store.uploads_dir / "never-written.part")
    assert not store.exists("a" * 64)


BAD_HASHES = [
    "../../etc/passwd",
    "../" * 21 + "a",
    "",
    "a" * 63,
    "a" * 65,
    "A" * 64,  # uppercase: one photo, two names
    "g" * 64,
    "a" * 64 + "\n",
    "/" + "a" * 63,
    "ab/cd" + "a" * 59,
]


@pytest.mark.parametrize("bad", BAD_HASHES)
def test_bad_hash_refused_everywhere(store: LocalPhotoStore, bad: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"x")
    with pytest.raises(ValueError):
        check_sha256(bad)
    with pytest.raises(ValueError):
        store.put_file(bad, src)
    assert src.exists()  # nothing was moved
    for call in (store.exists, store.open, store.size, store.delete):
        with pytest.raises(ValueError):
            call(bad)
    with pytest.raises(ValueError):
        store.derivative(bad, "thumb")


def test_non_string_hash_refused(store: LocalPhotoStore) -> None:
    with pytest.raises(ValueError):
        store.exists(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kind", "expected_size"), [("thumb", (320, 240)), ("view", (1600, 1200))])
def test_derivative_size_and_cache(store: LocalPhotoStore, kind: str, expected_size: tuple[int, int]) -> None:
    sha256, src = staged(store, photo_bytes((2000, 1500)))
    store.put_file(sha256, src)

    first = store.derivative(sha256, kind)

    img = Image.open(io.BytesIO(first))
    assert img.format == "JPEG"
    assert img.size == expected_size
    assert store_has_derivative(store, sha256, kind)
    if not _on_disk(store):
        # The object store's cache: test_s3_store.py::test_a_derivative_is_rendered_once_and_cached_in_the_bucket
        assert store.derivative(sha256, kind) == first
        return
    cached = store.root / "derived" / kind / sha256[:2] / f"{sha256}.jpg"
    assert cached.read_bytes() == first
    mtime = cached.stat().st_mtime_ns

    assert store.derivative(sha256, kind) == first
    assert cached.stat().st_mtime_ns == mtime  # served from the cache, not made again


def test_thumbnail_is_smaller_than_view(store: LocalPhotoStore) -> None:
    sha256, src = staged(store, photo_bytes((2000, 1500)))
    store.put_file(sha256, src)
    assert len(store.derivative(sha256, "thumb")) < len(store.derivative(sha256, "view")) < store.size(sha256)


def test_portrait_derivative_bounded_by_long_edge(store: LocalPhotoStore) -> None:
    sha256, src = staged(store, photo_bytes((1200, 2400)))
    store.put_file(sha256, src)
    assert Image.open(io.BytesIO(store.derivative(sha256, "thumb"))).size == (160, 320)
    assert Image.open(io.BytesIO(store.derivative(sha256, "view"))).size == (800, 1600)


def test_small_photo_is_not_enlarged(store: LocalPhotoStore) -> None:
    sha256, src = staged(store, photo_bytes((200, 100)))
    store.put_file(sha256, src)
    assert Image.open(io.BytesIO(store.derivative(sha256, "view"))).size == (200, 100)


def test_transparent_png_derivative_on_white(store: LocalPhotoStore) -> None:
    transparent = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    out = io.BytesIO()
    transparent.save(out, "PNG")
    sha256, src = staged(store, out.getvalue())
    store.put_file(sha256, src)
    thumb = Image.open(io.BytesIO(store.derivative(sha256, "thumb")))
    assert thumb.format == "JPEG" and thumb.mode == "RGB"
    assert min(thumb.getpixel((160, 120))) > 245


def _encoded(img: Image.Image, image_format: str, **options: object) -> bytes:
    out = io.BytesIO()
    img.save(out, image_format, **options)
    return out.getvalue()


def _half_transparent_palette_png() -> bytes:
    img = Image.new("P", (1000, 800), 0)
    img.putpalette([0, 0, 0, 255, 0, 0])
    img.paste(1, (500, 0, 1000, 800))  # right half red, left half index 0 = transparent
    return _encoded(img, "PNG", transparency=0)


@pytest.mark.parametrize(
    ("make", "left", "right"),
    [
        (_half_transparent_palette_png, (255, 255, 255), (255, 0, 0)),
        (lambda: _encoded(Image.new("I;16", (1000, 800), 32896), "PNG"), (128, 128, 128), (128, 128, 128)),
        (lambda: _encoded(Image.new("CMYK", (1000, 800), (0, 255, 255, 0)), "JPEG"), (255, 0, 0), (255, 0, 0)),
        (lambda: _encoded(Image.new("L", (1000, 800), 100), "JPEG"), (100, 100, 100), (100, 100, 100)),
    ],
    ids=["palette-with-transparency", "16-bit-grey", "cmyk-jpeg", "grey-jpeg"],
)
def test_derivative_of_unusual_image_modes(
    store: LocalPhotoStore, make, left: tuple[int, int, int], right: tuple[int, int, int]
) -> None:
    sha256, src = staged(store, make())
    store.put_file(sha256, src)
    thumb = Image.open(io.BytesIO(store.derivative(sha256, "thumb")))
    assert (thumb.mode, thumb.size) == ("RGB", (320, 256))
    for (x, y), expected in (((40, 128), left), ((280, 128), right)):
        assert all(abs(a - b) <= 4 for a, b in zip(thumb.getpixel((x, y)), expected)), (x, y)


def test_derivative_errors(store: LocalPhotoStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.derivative("b" * 64, "thumb")
    sha256, src = staged(store, photo_bytes((64, 48)))
    store.put_file(sha256, src)
    with pytest.raises(ValueError):
        store.derivative(sha256, "../original")
    with pytest.raises(ValueError):
        store.derivative(sha256, "huge")


def test_delete_removes_derivatives(store: LocalPhotoStore) -> None:
    sha256, src = staged(store, photo_bytes((800, 600)))
    store.put_file(sha256, src)
    store.derivative(sha256, "thumb")
    store.derivative(sha256, "view")
    store.delete(sha256)
    assert not store.exists(sha256)
    assert not any(store_has_derivative(store, sha256, kind) for kind in ("thumb", "view"))
    if _on_disk(store):
        assert not list((store.root / "derived").rglob(f"{sha256}*"))
    with pytest.raises(FileNotFoundError):
        store.derivative(sha256, "thumb")


def test_concurrent_put_of_the_same_photo(store: LocalPhotoStore) -> None:
    # Two phones (or a retry racing the original) upload the same photo at the same moment.
    for attempt in range(20):
        data = photo_bytes((256, 192), seed=attempt)
        sha256 = hashlib.sha256(data).hexdigest()
        sources = [staged(store, data, f"{attempt}-{i}.part")[1] for i in range(2)]
        start = threading.Barrier(len(sources))
        errors: list[BaseException] = []

        def upload(src: Path) -> None:
            start.wait()
            try:
                store.put_file(sha256, src)
            except BaseException as exc:  # noqa: BLE001 — reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=upload, args=(src,)) for src in sources]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        with store.open(sha256) as f:
            assert hashlib.sha256(f.read()).hexdigest() == sha256
        assert not any(src.exists() for src in sources)
        if _on_disk(store):
            # One object, no temporary files left beside it.
            assert list(store.object_path(sha256).parent.iterdir()) == [store.object_path(sha256)]


def test_concurrent_first_use_of_a_derivative(store: LocalPhotoStore) -> None:
    sha256, src = staged(store, photo_bytes((1600, 1200)))
    store.put_file(sha256, src)
    results: list[bytes] = []
    start = threading.Barrier(4)

    def view() -> None:
        start.wait()
        results.append(store.derivative(sha256, "view"))

    threads = [threading.Thread(target=view) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert store_has_derivative(store, sha256, "view")
    if _on_disk(store):
        cached = store.derivative_path(sha256, "view")
        assert list(cached.parent.iterdir()) == [cached]
    assert all(Image.open(io.BytesIO(r)).size == (1600, 1200) for r in results)


def test_sha256_of_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    data = random.Random(3).randbytes(3 * 1024 * 1024 + 17)  # spans several read chunks
    path.write_bytes(data)
    assert sha256_of_file(path) == hashlib.sha256(data).hexdigest()


# -- configuration -------------------------------------------------------------------------------


def test_make_store_local_by_default(tmp_path: Path) -> None:
    store = make_store({"PHOTO_DIR": tmp_path / "p"})
    assert isinstance(store, LocalPhotoStore)
    assert store.uploads_dir.is_dir()
    assert isinstance(make_store({"PHOTO_STORE": "local", "PHOTO_DIR": str(tmp_path / "q")}), LocalPhotoStore)


def test_make_store_unknown_backend(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown PHOTO_STORE backend 's3'"):
        make_store({"PHOTO_STORE": "s3", "PHOTO_DIR": tmp_path})


def test_make_store_needs_a_directory() -> None:
    with pytest.raises(ValueError, match="PHOTO_DIR"):
        make_store({"PHOTO_STORE": "local"})
