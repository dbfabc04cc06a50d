"""Content-addressed photo storage: a photo is stored once, under the SHA-256 of its bytes.

Callers write a file into ``store.uploads_dir`` (a local scratch folder), hash and validate it,
then hand it over with ``put_file``; from then on the photo is addressed by its hash only. Plain
Python, no Flask, so the store is usable from the CLI, background jobs and tests alike.

``make_store`` picks the backend from configuration: the local file system (the embedded default)
or any S3-compatible object store (``PHOTO_STORE=s3://bucket/prefix``, app/storage/s3.py) — objects
under ``objects/<hash>``, derivatives cached under ``derived/<kind>/<hash>.jpg``. Half-finished
resumable uploads are staged by the store itself (``upload_staging``, app/storage/uploads.py), so
that with an object store every app host sees them.
"""
from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from PIL import Image, ImageOps

from app.storage.clean import clean_image

if TYPE_CHECKING:
    from app.storage.uploads import UploadStaging

__all__ = [
    "DERIVATIVES",
    "DerivativeSpec",
    "LockFactory",
    "LocalPhotoStore",
    "PhotoStore",
    "StoreMisconfigured",
    "StoreUnavailable",
    "check_sha256",
    "clean_original",
    "make_store",
    "render_derivative",
    "sha256_of_file",
]

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class StoreUnavailable(Exception):
    """The store cannot be reached or answered too slowly: retry later, nothing was recorded."""


class StoreMisconfigured(Exception):
    """The store refuses us (wrong credentials, no such bucket, no permission): an operator must act.

    ``create_app`` refuses to start with this message; at run time it is answered like
    StoreUnavailable (the phone keeps its photo) and logged as an error."""


# A lock named by a string, held across processes (and, with MariaDB, across app hosts): the
# services pass app/services/locks.py's ``named_lock``; plain use (tests, the CLI) gets a file lock.
LockFactory = Callable[[str], AbstractContextManager[None]]


class PhotoStore(Protocol):
    @property
    def uploads_dir(self) -> Path:
        """A local scratch directory for files about to be ``put_file``d (receipts, screenshots,
        restores); on the same file system as the store when local, so put_file is a rename."""
        ...

    def check(self) -> None:
        """Prove the store is usable now (reachable, writable); raises StoreUnavailable or
        StoreMisconfigured. Used at start and by /readyz."""
        ...

    def upload_staging(self, lock: LockFactory | None = None) -> UploadStaging:
        """Where this store keeps half-finished resumable uploads (app/storage/uploads.py)."""
        ...

    def put_file(self, sha256: str, src: Path) -> None:
        """Move ``src`` into the store under ``sha256``; idempotent and atomic; ``src`` is consumed."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def open(self, sha256: str) -> BinaryIO:
        """The original bytes; raises FileNotFoundError when absent."""
        ...

    def size(self, sha256: str) -> int:
        """Size of the original in bytes; raises FileNotFoundError when absent."""
        ...

    def derivative(self, sha256: str, kind: str) -> bytes:
        """A JPEG rendition ("thumb" or "view"), made on first use and cached."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the original and its derivatives; no error when already gone."""
        ...

    def iter_objects(self) -> Iterator[str]:
        """The SHA-256 of every stored original, in ascending order (backups walk the store so)."""
        ...


@dataclass(frozen=True)
class DerivativeSpec:
    long_edge: int
    quality: int


DERIVATIVES: Mapping[str, DerivativeSpec] = {
    "thumb": DerivativeSpec(long_edge=320, quality=70),  # lists and queues on a phone
    "view": DerivativeSpec(long_edge=1600, quality=82),  # reviewers reading a document on screen
}


def check_sha256(sha256: str) -> str:
    """Return ``sha256`` if it is 64 lowercase hex digits, else raise ValueError.

    The hash becomes part of a file path: this is the path-traversal guard.
    """
    if not isinstance(sha256, str) or not _SHA256_HEX.fullmatch(sha256):
        raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
    return sha256


def sha256_of_file(path: Path, chunk_size: int = 1024 * 1024) -> str:
    """Lowercase hex SHA-256 of a file, read in chunks (photos can be tens of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def copy_hashing(source: BinaryIO, out: BinaryIO, chunk_size: int = 1024 * 1024) -> tuple[str, int]:
    """Copy ``source`` into ``out`` in chunks, hashing on the way: (lowercase hex SHA-256, size)."""
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(chunk_size):
        digest.update(chunk)
        size += len(chunk)
        out.write(chunk)
    return digest.hexdigest(), size


def render_derivative(original: BinaryIO, kind: str) -> bytes:
    """JPEG bytes of ``original`` upright (EXIF orientation applied) and shrunk to ``kind``'s size.

    The output carries no EXIF: the orientation is baked in, and GPS and device data stay in the
    original only. Images are never enlarged.
    """
    spec = DERIVATIVES.get(kind)
    if spec is None:
        raise ValueError(f"unknown derivative kind {kind!r}; expected one of {sorted(DERIVATIVES)}")
    box = (spec.long_edge, spec.long_edge)
    with Image.open(original) as img:
        # Let the JPEG decoder scale down by 1/2..1/8 while decoding: much faster and lighter on
        # memory for a 12-megapixel phone photo. The box is square, so orientation does not matter.
        img.draft("RGB", box)
        try:
            upright = ImageOps.exif_transpose(img)
        except Exception:  # noqa: BLE001 — damaged EXIF must not make the photo unviewable
            upright = img
        # Flatten before shrinking: a palette image would otherwise be resized with NEAREST.
        rgb = _flatten_to_rgb(upright)
        rgb.thumbnail(box, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=spec.quality, optimize=True)
    return out.getvalue()


def _flatten_to_rgb(img: Image.Image) -> Image.Image:
    if img.mode.startswith("I"):
        # 16-bit greyscale (some scanner apps): scale to 8 bits instead of clipping to white.
        img = img.convert("I").point(lambda value: value / 257, "L")
    # A transparent PNG (a screenshot, a scanned form) goes on white, as on paper, not black.
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def clean_original(store: PhotoStore, sha256: str) -> bytes:
    """What is served and zipped in place of the stored original: its pixels, no metadata.

    The stored object stays as it arrived (evidence); see app/storage/clean.py. Made on each
    request rather than cached, so that millions of originals are not kept twice.
    """
    with store.open(sha256) as f:
        return clean_image(f.read())


def make_store(config: Mapping) -> PhotoStore:
    """The photo store configured by ``PHOTO_STORE``: "local" (the default, under ``PHOTO_DIR``) or
    ``s3://bucket/prefix`` (with ``S3_ENDPOINT_URL`` and the standard ``AWS_*`` variables)."""
    raw = str(config.get("PHOTO_STORE") or "local").strip()
    backend = raw.lower()
    if backend.startswith("s3://"):
        from app.storage.s3 import S3PhotoStore

        return S3PhotoStore.from_config(raw, config)
    if backend == "local":
        photo_dir = config.get("PHOTO_DIR")
        if not photo_dir:
            raise ValueError("PHOTO_STORE is 'local' but PHOTO_DIR is not set")
        return LocalPhotoStore(Path(photo_dir))
    raise ValueError(f"unknown PHOTO_STORE backend {backend!r}; supported: 'local', 's3://bucket/prefix'")


# Imported last: local.py uses the helpers defined above.
from app.storage.local import LocalPhotoStore  # noqa: E402
