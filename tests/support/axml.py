"""A small writer of Android's binary XML manifest (the format aapt compiles AndroidManifest.xml to),
written from ResourceTypes.h independently of app/domain/apk.py, so the reader is tested on manifests
aapt never makes here: UTF-8 string pools (aapt2 and newer build tools), attributes known only by
their resource id (names stripped) or only by name, and any package and version."""
from __future__ import annotations

import io
import struct
import zipfile

ANDROID_NS = "http://schemas.android.com/apk/res/android"
IDS = {"versionCode": 0x0101021B, "versionName": 0x0101021C, "minSdkVersion": 0x0101020C}


def _pool(strings: list[str], utf8: bool) -> bytes:
    data = bytearray()
    offsets = []
    for s in strings:
        offsets.append(len(data))
        if utf8:
            raw = s.encode("utf-8")
            for n in (len(s), len(raw)):
                data += bytes([n]) if n < 0x80 else bytes([0x80 | (n >> 8), n & 0xFF])
            data += raw + b"\0"
        else:
            raw = s.encode("utf-16-le")
            n = len(raw) // 2
            data += struct.pack("<H", n) if n < 0x8000 else struct.pack("<HH", 0x8000 | (n >> 16), n & 0xFFFF)
            data += raw + b"\0\0"
    while len(data) % 4:
        data += b"\0"
    header = 28
    strings_start = header + 4 * len(strings)
    body = struct.pack(f"<{len(strings)}I", *offsets) + bytes(data)
    return struct.pack("<HHIIIIII", 0x0001, header, header + len(body), len(strings), 0,
                       0x100 if utf8 else 0, strings_start, 0) + body


def manifest(package: str | None, version_code: int | None, version_name: str | None = "1.0", *,
             min_sdk: int | None = 23, utf8: bool = False, ids: bool = True, names: bool = True,
             root: str = "manifest") -> bytes:
    """A compiled manifest: <manifest package=… android:versionCode=… android:versionName=…>
    <uses-sdk android:minSdkVersion=…/></manifest>. ``ids=False`` leaves out the resource map (the
    attributes are known by name only); ``names=False`` blanks the android attribute names (known
    by id only, as a shrunk release build)."""
    android_attrs = [n for n, v in (("versionCode", version_code), ("versionName", version_name)) if v is not None]
    sdk_attrs = ["minSdkVersion"] if min_sdk is not None else []
    attr_names = android_attrs + [a for a in sdk_attrs if a not in android_attrs]
    # Attribute names with resource ids come first in the pool (the resource map is indexed by them).
    strings = [(n if names else "") for n in attr_names]
    index = {}

    def s(text: str) -> int:
        if text not in index:
            index[text] = len(strings)
            strings.append(text)
        return index[text]

    for n in (ANDROID_NS, "android", root, "package", "uses-sdk"):
        s(n)
    values = {}
    if package is not None:
        values["package"] = s(package)
    if version_name is not None:
        values["versionName"] = s(version_name)
    resmap = b""
    if ids and attr_names:
        resmap = struct.pack("<HHI", 0x0180, 8, 8 + 4 * len(attr_names)) + struct.pack(
            f"<{len(attr_names)}I", *(IDS[n] for n in attr_names))

    def attr(ns: int, name: int, data_type: int, data: int, raw: int = 0xFFFFFFFF) -> bytes:
        return struct.pack("<IIIHBBI", ns, name, raw, 8, 0, data_type, data)

    def start(name: str, attrs: list[bytes]) -> bytes:
        ext = struct.pack("<IIHHHHHH", 0xFFFFFFFF, s(name), 20, 20, len(attrs), 0, 0, 0) + b"".join(attrs)
        return struct.pack("<HHIII", 0x0102, 16, 16 + len(ext), 1, 0xFFFFFFFF) + ext

    def end(name: str) -> bytes:
        ext = struct.pack("<II", 0xFFFFFFFF, s(name))
        return struct.pack("<HHIII", 0x0103, 16, 16 + len(ext), 1, 0xFFFFFFFF) + ext

    ns_ext = struct.pack("<II", s("android"), s(ANDROID_NS))
    ns_start = struct.pack("<HHIII", 0x0100, 16, 24, 1, 0xFFFFFFFF) + ns_ext
    ns_end = struct.pack("<HHIII", 0x0101, 16, 24, 1, 0xFFFFFFFF) + ns_ext
    ns = index[ANDROID_NS]
    root_attrs = []
    if version_code is not None:
        root_attrs.append(attr(ns, attr_names.index("versionCode"), 0x10, version_code))
    if version_name is not None:
        root_attrs.append(attr(ns, attr_names.index("versionName"), 0x03, values["versionName"], values["versionName"]))
    if package is not None:
        root_attrs.append(attr(0xFFFFFFFF, index["package"], 0x03, values["package"], values["package"]))
    nodes = ns_start + start(root, root_attrs)
    if min_sdk is not None:
        nodes += start("uses-sdk", [attr(ns, attr_names.index("minSdkVersion"), 0x10, min_sdk)]) + end("uses-sdk")
    nodes += end(root) + ns_end
    # The pool was built before the node names were added: rebuild it with every string.
    pool = _pool(strings, utf8)
    body = pool + resmap + nodes
    return struct.pack("<HHI", 0x0003, 8, 8 + len(body)) + body


# Shaped like a v1 (JAR) signature, not a real one: the server checks only that one is there.
SIGNATURE_ENTRIES = {"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\n\r\n", "META-INF/CERT.SF": b"Signature-Version: 1.0\r\n",
                     "META-INF/CERT.RSA": b"0"}


def apk(manifest_bytes: bytes, *, extra: dict[str, bytes] | None = None, signed: bool = False) -> bytes:
    """A zip holding the manifest (and ``extra`` entries): enough of an APK for the server;
    ``signed`` adds entries shaped like a v1 signature."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("AndroidManifest.xml", manifest_bytes)
        for name, data in (SIGNATURE_ENTRIES if signed else {}).items():
            z.writestr(name, data)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return out.getvalue()
