"""What an Android package (APK) says about itself: the package name, versionCode, versionName and
minSdkVersion of its AndroidManifest.xml, read from the compiled ("binary XML") manifest inside the
zip. Pure Python (zipfile and struct); no Android tools needed on the server.

The binary XML is a tree of chunks (Android's ResourceTypes.h): a header, one string pool, a map of
attribute names to resource ids, then start/end-element nodes whose attributes point into the pool
or carry a typed value. Only what the server needs is read, strictly: every offset and length is
checked against the chunk that holds it, and anything that does not fit is an ApkError, never an
IndexError or a struct.error. An android: attribute is recognised by its resource id (release
builds may strip the names) or, failing that, by its name in the android namespace.
"""
from __future__ import annotations

import dataclasses
import struct
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from app.domain.i18n import N_

MANIFEST_NAME = "AndroidManifest.xml"
MAX_MANIFEST_BYTES = 1024 * 1024  # a real one is a few KB; a zip bomb is refused before inflating

ANDROID_NS = "http://schemas.android.com/apk/res/android"
# android.R.attr ids (stable since API 1)
ATTR_VERSION_CODE = 0x0101021B
ATTR_VERSION_NAME = 0x0101021C
ATTR_MIN_SDK_VERSION = 0x0101020C

# chunk types
RES_STRING_POOL_TYPE = 0x0001
RES_XML_TYPE = 0x0003
RES_XML_START_NAMESPACE_TYPE = 0x0100
RES_XML_END_NAMESPACE_TYPE = 0x0101
RES_XML_START_ELEMENT_TYPE = 0x0102
RES_XML_END_ELEMENT_TYPE = 0x0103
RES_XML_CDATA_TYPE = 0x0104
RES_XML_RESOURCE_MAP_TYPE = 0x0180
UTF8_FLAG = 0x100
NO_INDEX = 0xFFFFFFFF
# typed values
TYPE_REFERENCE = 0x01
TYPE_STRING = 0x03
TYPE_INT_DEC = 0x10
TYPE_INT_HEX = 0x11

MAX_STRINGS = 100_000


class ApkError(ValueError):
    """The file is not an APK we can read: an N_ message for the person publishing it."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail  # for the log: what exactly did not fit


NOT_A_ZIP = N_("This file is not an Android app (APK): it is not a zip archive.")
NO_MANIFEST = N_("This file is not an Android app (APK): it has no AndroidManifest.xml.")
BAD_MANIFEST = N_("The app's AndroidManifest.xml could not be read; the file may be damaged.")
NO_PACKAGE = N_("The app's manifest names no package.")
NO_VERSION_CODE = N_("The app's manifest has no version code (android:versionCode).")


@dataclass(frozen=True)
class ApkManifest:
    package: str
    version_code: int
    version_name: str | None  # None when it is a resource reference (@string/…) or absent
    min_sdk: int | None
    # A JAR (v1) signature is present: META-INF/MANIFEST.MF with a .SF and its .RSA/.DSA/.EC block.
    # Only its presence: the phone verifies it, and installs only an APK signed by its own signer.
    v1_signed: bool = False


_SIGNATURE_BLOCK = (".RSA", ".DSA", ".EC")


def _v1_signed(names: list[str]) -> bool:
    meta = {n.upper() for n in names if n.upper().startswith("META-INF/") and n.count("/") == 1}
    stems = {n[:-3] for n in meta if n.endswith(".SF")}
    return "META-INF/MANIFEST.MF" in meta and any(
        n.rsplit(".", 1)[0] in stems for n in meta if n.endswith(_SIGNATURE_BLOCK))


def read_apk(file: BinaryIO) -> ApkManifest:
    """The manifest of the APK in ``file`` (a seekable binary file). Raises ApkError."""
    try:
        with zipfile.ZipFile(file) as archive:
            try:
                info = archive.getinfo(MANIFEST_NAME)
            except KeyError:
                raise ApkError(NO_MANIFEST) from None
            if info.file_size > MAX_MANIFEST_BYTES:
                raise ApkError(BAD_MANIFEST, f"manifest of {info.file_size} bytes")
            with archive.open(info) as member:
                data = member.read(MAX_MANIFEST_BYTES + 1)
            signed = _v1_signed(archive.namelist())
    except ApkError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as e:
        raise ApkError(NOT_A_ZIP, str(e)) from None
    except (NotImplementedError, RuntimeError, ValueError, OSError) as e:  # unknown compression, encrypted, CRC
        raise ApkError(BAD_MANIFEST, str(e)) from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise ApkError(BAD_MANIFEST, "manifest larger than announced")
    return dataclasses.replace(read_manifest(data), v1_signed=signed)


def read_manifest(data: bytes) -> ApkManifest:
    """The package, version and minimum SDK of a compiled AndroidManifest.xml. Raises ApkError."""
    try:
        return _read_manifest(data)
    except (struct.error, IndexError, UnicodeDecodeError, OverflowError) as e:
        raise ApkError(BAD_MANIFEST, f"{type(e).__name__}: {e}") from None


def _bad(detail: str) -> ApkError:
    return ApkError(BAD_MANIFEST, detail)


def _read_manifest(data: bytes) -> ApkManifest:
    if len(data) < 8:
        raise _bad("shorter than a chunk header")
    kind, header_size, size = struct.unpack_from("<HHI", data, 0)
    if kind != RES_XML_TYPE or header_size < 8 or size > len(data) or size < header_size:
        raise _bad(f"not binary XML (type {kind:#x}, size {size} of {len(data)})")
    strings: list[str] = []
    resource_ids: list[int] = []
    depth = 0
    found: dict[str, object] = {}
    offset = header_size
    while offset + 8 <= size:
        kind, chunk_header, chunk_size = struct.unpack_from("<HHI", data, offset)
        if chunk_header < 8 or chunk_size < chunk_header or offset + chunk_size > size:
            raise _bad(f"chunk {kind:#x} at {offset} overruns the file")
        chunk = memoryview(data)[offset:offset + chunk_size]
        if kind == RES_STRING_POOL_TYPE:
            strings = _string_pool(chunk, chunk_header)
        elif kind == RES_XML_RESOURCE_MAP_TYPE:
            count = (chunk_size - chunk_header) // 4
            resource_ids = list(struct.unpack_from(f"<{count}I", chunk, chunk_header))
        elif kind == RES_XML_START_ELEMENT_TYPE:
            depth += 1
            name, attributes = _element(chunk, chunk_header, strings, resource_ids)
            if depth == 1:
                if name != "manifest":
                    raise _bad(f"root element is {name!r}")
                found["package"] = attributes.get("package")
                found["version_code"] = attributes.get(ATTR_VERSION_CODE)
                found["version_name"] = attributes.get(ATTR_VERSION_NAME)
            elif depth == 2 and name == "uses-sdk":
                found["min_sdk"] = attributes.get(ATTR_MIN_SDK_VERSION)
        elif kind == RES_XML_END_ELEMENT_TYPE:
            depth -= 1
            if depth < 0:
                raise _bad("an element ends that never started")
        elif kind not in (RES_XML_START_NAMESPACE_TYPE, RES_XML_END_NAMESPACE_TYPE, RES_XML_CDATA_TYPE):
            raise _bad(f"unknown chunk type {kind:#x}")
        offset += chunk_size
    if "package" not in found:
        raise _bad("no <manifest> element")
    package = found["package"]
    if not isinstance(package, str) or not package:
        raise ApkError(NO_PACKAGE)
    version_code = found["version_code"]
    if not isinstance(version_code, int) or version_code < 1:
        raise ApkError(NO_VERSION_CODE)
    version_name = found["version_name"] if isinstance(found["version_name"], str) else None
    min_sdk = found.get("min_sdk")
    return ApkManifest(package=package, version_code=version_code, version_name=version_name,
                       min_sdk=min_sdk if isinstance(min_sdk, int) else None)


def _string_pool(chunk: memoryview, header_size: int) -> list[str]:
    if header_size < 28:
        raise _bad("string pool header too short")
    count, _styles, flags, strings_start, _styles_start = struct.unpack_from("<IIIII", chunk, 8)
    if count > MAX_STRINGS or header_size + 4 * count > len(chunk) or strings_start > len(chunk):
        raise _bad("string pool counts do not fit")
    offsets = struct.unpack_from(f"<{count}I", chunk, header_size)
    utf8 = bool(flags & UTF8_FLAG)
    data = chunk[strings_start:]
    return [_pool_string(data, at, utf8) for at in offsets]


def _pool_string(data: memoryview, at: int, utf8: bool) -> str:
    if utf8:
        _chars, at = _length8(data, at)
        length, at = _length8(data, at)
        if at + length > len(data):
            raise _bad("a string runs past the pool")
        return bytes(data[at:at + length]).decode("utf-8")
    length, at = _length16(data, at)
    if at + 2 * length > len(data):
        raise _bad("a string runs past the pool")
    return bytes(data[at:at + 2 * length]).decode("utf-16-le")


def _length8(data: memoryview, at: int) -> tuple[int, int]:
    first = data[at]
    if first & 0x80:
        return ((first & 0x7F) << 8) | data[at + 1], at + 2
    return first, at + 1


def _length16(data: memoryview, at: int) -> tuple[int, int]:
    (first,) = struct.unpack_from("<H", data, at)
    if first & 0x8000:
        (second,) = struct.unpack_from("<H", data, at + 2)
        return ((first & 0x7FFF) << 16) | second, at + 4
    return first, at + 2


def _string(strings: list[str], index: int) -> str | None:
    if index == NO_INDEX:
        return None
    if index >= len(strings):
        raise _bad(f"string {index} of {len(strings)}")
    return strings[index]


def _element(chunk: memoryview, header_size: int, strings: list[str],
             resource_ids: list[int]) -> tuple[str, dict[object, object]]:
    """The element's name and its attributes: android: ones keyed by resource id, others by name."""
    _ns, name_index, attr_start, attr_size, attr_count = struct.unpack_from("<IIHHH", chunk, header_size)
    name = _string(strings, name_index) or ""
    if attr_size < 20:
        raise _bad("attribute record too short")
    attributes: dict[object, object] = {}
    base = header_size + attr_start
    for i in range(attr_count):
        at = base + i * attr_size
        if at + 20 > len(chunk):
            raise _bad("attributes run past the element")
        ns_index, attr_name_index, raw_index, _size, _res0, data_type, value = struct.unpack_from(
            "<IIIHBBI", chunk, at)
        ns = _string(strings, ns_index)
        attr_name = _string(strings, attr_name_index) or ""
        resource_id = resource_ids[attr_name_index] if attr_name_index < len(resource_ids) else None
        if resource_id is not None and resource_id >> 24 == 0x01:
            key: object = resource_id
        elif ns == ANDROID_NS:
            key = {"versionCode": ATTR_VERSION_CODE, "versionName": ATTR_VERSION_NAME,
                   "minSdkVersion": ATTR_MIN_SDK_VERSION}.get(attr_name, attr_name)
        else:
            key = attr_name
        attributes[key] = _value(strings, raw_index, data_type, value)
    return name, attributes


def _value(strings: list[str], raw_index: int, data_type: int, value: int) -> object:
    if data_type == TYPE_STRING:
        return _string(strings, value)
    if data_type in (TYPE_INT_DEC, TYPE_INT_HEX):
        return value - (1 << 32) if value >= 1 << 31 else value
    if data_type == TYPE_REFERENCE:
        return None  # @string/… : not resolved without resources.arsc
    raw = _string(strings, raw_index)
    return raw
