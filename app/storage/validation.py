"""Is an uploaded file a photo we can keep? Checked with Pillow, cheapest checks first.

Order matters: size on disk, then the image header (format and pixel count, without decoding),
and only then a full decode (a JPEG's at 1/8 scale: every coefficient is read, fewer pixels built). A decompression bomb — a small file declaring a huge image — is
refused from its header before any pixel memory is allocated.
"""
from __future__ import annotations

import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFile, UnidentifiedImageError

from app.domain.i18n import N_

__all__ = ["ImageInfo", "PhotoRejected", "validate_image"]

# Pillow's format name -> what we store it as. Phones write multi-picture JPEGs (depth maps,
# previews) that Pillow calls "MPO"; they are ordinary JPEGs to every viewer.
_ACCEPTED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG"}
_CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
_EXIF_ORIENTATION = 0x0112
_ORIENTATIONS_ROTATED_90 = frozenset({5, 6, 7, 8})
# What a damaged file makes Pillow's decoders raise.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "JPEG" or "PNG"
    content_type: str
    width: int  # as displayed, after EXIF orientation
    height: int


class PhotoRejected(ValueError):
    """A refused upload: ``message`` is an N_-marked English text with ``params``, for the officer."""

    def __init__(self, code: str, message: str, params: dict[str, object] | None = None) -> None:
        self.code = code
        self.message = message
        self.params: dict[str, object] = dict(params or {})
        # English text for logs; the web layer translates ``message`` with ``params`` instead.
        super().__init__(message % self.params if self.params else message)

    def __reduce__(self) -> tuple[type[PhotoRejected], tuple[str, str, dict[str, object]]]:
        # Survives pickling (e.g. a result handed back from a worker process).
        return (type(self), (self.code, self.message, self.params))

    def __repr__(self) -> str:
        return f"PhotoRejected({self.code!r}, {self.message!r}, {self.params!r})"


def _megabytes(n_bytes: int) -> float | int:
    mb = round(n_bytes / (1024 * 1024), 1)
    return int(mb) if mb == int(mb) else mb


def _megapixels(n_pixels: int) -> float | int:
    mp = round(n_pixels / 1_000_000, 1)
    return int(mp) if mp == int(mp) else mp


def _too_many_pixels(max_pixels: int) -> PhotoRejected:
    return PhotoRejected(
        "too_many_pixels",
        N_(
            "The photo has too many pixels (the limit is %(limit_megapixels)s megapixels). "
            "Lower the camera resolution and take it again."
        ),
        {"limit_megapixels": _megapixels(max_pixels)},
    )


def validate_image(path: Path, *, max_bytes: int, max_pixels: int) -> ImageInfo:
    """Check the file at ``path``; return its format and upright size or raise PhotoRejected."""
    size = path.stat().st_size
    if size == 0:
        raise PhotoRejected("empty", N_("The photo is empty (0 bytes). Take it again."))
    if size > max_bytes:
        raise PhotoRejected(
            "too_large",
            N_(
                "The photo is %(size_mb)s MB; the limit is %(limit_mb)s MB. "
                "Lower the camera resolution and take it again."
            ),
            {"size_mb": _megabytes(size), "limit_mb": _megabytes(max_bytes)},
        )

    # Pillow warns above Image.MAX_IMAGE_PIXELS and raises above twice that. Turn the warning into
    # an error here only, instead of changing the process-wide limit.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(path)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise _too_many_pixels(max_pixels) from None
        except (UnidentifiedImageError, *_DECODE_ERRORS):
            raise PhotoRejected(
                "not_image",
                N_("This file is not a photo. Take the photo again with the camera."),
            ) from None

        with img:
            image_format = _ACCEPTED_FORMATS.get(img.format or "")
            if image_format is None:
                raise PhotoRejected(
                    "unsupported_format",
                    N_(
                        "Only JPEG and PNG photos are accepted; this file is %(format)s. "
                        "Take the photo again with the camera."
                    ),
                    {"format": img.format or "?"},
                )
            # From the header: nothing has been decoded yet.
            width, height = img.size
            if width * height > max_pixels:
                raise _too_many_pixels(max_pixels)

            # Decode every pixel: a cut-off upload or a corrupt file fails here. Pillow would pad a
            # truncated image with grey if LOAD_TRUNCATED_IMAGES were set; it must stay False.
            if ImageFile.LOAD_TRUNCATED_IMAGES:
                raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set; truncated photos would pass")
            if image_format == "JPEG":
                # Decode every coefficient but build the pixels at 1/8 scale: the whole entropy-coded
                # stream is still read and checked (a cut-off or damaged file fails the same), at
                # about 40 % of a full decode's CPU. The size above is the file's own.
                img.draft(None, (max(1, width // 8), max(1, height // 8)))
            try:
                img.load()
            except (Image.DecompressionBombWarning, Image.DecompressionBombError):
                raise _too_many_pixels(max_pixels) from None
            except _DECODE_ERRORS:
                raise PhotoRejected(
                    "truncated",
                    N_(
                        "The photo is incomplete or damaged (the upload may have been cut off). "
                        "Upload it again."
                    ),
                ) from None

            if _orientation(img) in _ORIENTATIONS_ROTATED_90:
                width, height = height, width

    return ImageInfo(
        format=image_format,
        content_type=_CONTENT_TYPES[image_format],
        width=width,
        height=height,
    )


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(_EXIF_ORIENTATION, 1)
    except _DECODE_ERRORS:
        return 1  # unreadable EXIF: shown as stored
    return value if isinstance(value, int) else 1
