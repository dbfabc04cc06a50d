"""What leaves the server of a stored image: the same pixels, nothing else.

An upload is kept byte for byte as evidence, but what is served or zipped is ``clean_image`` of it:

- JPEG: the segments a decoder needs (quantisation and Huffman tables, frame, scans, restart
  interval), the JFIF header, the ICC colour profile and the Adobe colour-transform marker, in their
  order, up to the first end-of-image marker. EXIF (GPS, camera serial, time), XMP, comments, other
  application segments, an embedded second picture (MPO) and anything appended after the image —
  an HTML page, a script, a ZIP — are dropped. The compressed scan data is copied as is, so the
  pixels are bit for bit those of the original: no re-encoding, no loss.
- PNG: the critical chunks and the ancillary ones that change how pixels look (transparency,
  gamma, chromaticities, sRGB, ICC profile, significant bits, physical size); text, eXIf, time and
  everything after IEND are dropped.

EXIF orientation is the one tag kept (in a minimal EXIF block of its own), so a phone photo still
shows upright. A file that cannot be taken apart this way — or whose cleaned copy does not decode to
the same size — is re-encoded by Pillow instead (upright, no metadata): what is served is always a
decodable image with nothing but pixels in it. Plain Python and Pillow, no Flask.
"""
from __future__ import annotations

import io
import re
import struct
import zlib

from PIL import Image, ImageOps

__all__ = ["clean_image"]

_EXIF_ORIENTATION = 0x0112
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chunks that decide what the pixels are or how they look; every other chunk is dropped.
_PNG_KEEP = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"pHYs"})
# Inside entropy-coded data a 0xFF byte is followed by 0x00 (stuffing), a restart marker
# D0-D7, or more 0xFF fill; anything else starts the next marker segment.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn carry no length


def clean_image(data: bytes) -> bytes:
    """The image in ``data`` (a JPEG or PNG the store accepted) with no metadata and no foreign bytes."""
    try:
        orientation = _orientation(data)
        if data.startswith(b"\xff\xd8"):
            cleaned = _clean_jpeg(data, orientation)
        elif data.startswith(_PNG_SIGNATURE):
            cleaned = _clean_png(data, orientation)
        else:
            raise ValueError("neither JPEG nor PNG")
        if _decoded_size(cleaned) == _header_size(data):
            return cleaned
    except (ValueError, OSError, struct.error, SyntaxError, EOFError, IndexError, zlib.error):
        pass
    return _reencode(data)


def _orientation(data: bytes) -> int:
    with Image.open(io.BytesIO(data)) as img:
        try:
            value = img.getexif().get(_EXIF_ORIENTATION, 1)
        except Exception:  # noqa: BLE001 — unreadable EXIF: shown as stored
            return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _orientation_exif(orientation: int) -> bytes:
    """A TIFF/EXIF block holding the orientation tag and nothing else, with the "Exif\\0\\0" prefix."""
    exif = Image.Exif()
    exif[_EXIF_ORIENTATION] = orientation
    return exif.tobytes()


def _clean_jpeg(data: bytes, orientation: int) -> bytes:
    out = [b"\xff\xd8"]
    exif_pending = orientation != 1
    pos = 2
    size = len(data)
    while True:
        # Fill bytes (0xFF) may precede any marker.
        while pos < size and data[pos] == 0xFF and pos + 1 < size and data[pos + 1] == 0xFF:
            pos += 1
        if pos + 2 > size or data[pos] != 0xFF:
            raise ValueError("JPEG marker expected")
        marker = data[pos + 1]
        if marker == 0xD9:  # EOI: the image ends here, whatever follows
            out.append(b"\xff\xd9")
            return b"".join(out)
        if marker == 0xD8:
            raise ValueError("second SOI before EOI")
        if marker in _STANDALONE:
            out.append(data[pos:pos + 2])
            pos += 2
            continue
        if pos + 4 > size:
            raise ValueError("truncated JPEG segment")
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        end = pos + 2 + length
        if length < 2 or end > size:
            raise ValueError("bad JPEG segment length")
        segment = data[pos:end]
        payload = segment[4:]
        if exif_pending and not (marker == 0xE0 and payload.startswith(b"JFIF\x00")):
            # After the JFIF header (which must come first), before anything else.
            exif = _orientation_exif(orientation)
            out.append(b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif)
            exif_pending = False
        if _keep_jpeg_segment(marker, payload):
            out.append(segment)
        pos = end
        if marker == 0xDA:  # SOS: compressed data follows, up to the next real marker
            found = _NEXT_MARKER.search(data, pos)
            if found is None:
                raise ValueError("JPEG scan without an end")
            out.append(data[pos:found.start()])
            pos = found.start()


def _keep_jpeg_segment(marker: int, payload: bytes) -> bool:
    if marker == 0xFE:  # COM
        return False
    if 0xE0 <= marker <= 0xEF:  # APPn: only those that change how pixels decode or look
        return (
            (marker == 0xE0 and payload.startswith(b"JFIF\x00"))
            or (marker == 0xE2 and payload.startswith(b"ICC_PROFILE\x00"))
            or (marker == 0xEE and payload.startswith(b"Adobe"))
        )
    return True


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _clean_png(data: bytes, orientation: int) -> bytes:
    out = [_PNG_SIGNATURE]
    pos = len(_PNG_SIGNATURE)
    size = len(data)
    while pos + 8 <= size:
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > size:
            raise ValueError("truncated PNG chunk")
        if kind in _PNG_KEEP:
            out.append(data[pos:end])
        if kind == b"IHDR" and orientation != 1:
            out.append(_png_chunk(b"eXIf", _orientation_exif(orientation)[6:]))
        pos = end
        if kind == b"IEND":
            return b"".join(out)
    raise ValueError("PNG without IEND")


def _header_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.size


def _decoded_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img.size


def _reencode(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        try:
            upright = ImageOps.exif_transpose(img)
        except Exception:  # noqa: BLE001 — damaged EXIF: shown as stored
            upright = img
        out = io.BytesIO()
        if img.format == "PNG":
            upright.save(out, "PNG")
        else:
            upright.convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()
