"""File names for exported photo archives, following the institution's convention:

    [农户姓名]_[业务类型]/[农户姓名]的[采集项目]([数字]).jpg
    e.g. 张三_农户小额信用贷款/张三的借款调查表(1).jpg

Names come from user input (borrower names, product and item names an admin typed), and the
archive is unpacked on Windows PCs, so every component is made safe for both a ZIP entry and a
Windows file name.
"""
from __future__ import annotations

import re
import unicodedata

__all__ = ["photo_archive_name", "safe_name_component"]

# Path separators and the characters Windows forbids in file names.
_FORBIDDEN_CHARS = frozenset('/\\<>:"|?*')
# Control, format (e.g. bidi overrides that disguise a name), surrogate and line/paragraph
# separator characters: invisible or unencodable in a file name.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# File systems limit a name to 255 bytes (ext4) or 255 UTF-16 units (NTFS); two components plus
# "的", the sequence and the extension must fit, in UTF-8 where a Chinese character takes 3 bytes.
_MAX_COMPONENT_BYTES = 80
_EXTENSION = re.compile(r"[a-z0-9]{1,10}")


def safe_name_component(raw: str) -> str:
    """One piece of a file name: trimmed, forbidden characters replaced by "_", never empty or dots."""
    text = unicodedata.normalize("NFC", raw).strip()
    text = "".join(
        "_" if ch in _FORBIDDEN_CHARS or unicodedata.category(ch) in _FORBIDDEN_CATEGORIES else ch
        for ch in text
    )
    # Cut on a character boundary: "ignore" drops a character split by the byte limit.
    text = text.encode("utf-8")[:_MAX_COMPONENT_BYTES].decode("utf-8", "ignore")
    # Windows silently drops trailing dots and spaces, which would make "张三." and "张三" collide;
    # stripping them also means a component can never be "." or "..".
    text = text.rstrip(". ")
    return text or "_"


def _normalise_extension(ext: str) -> str:
    ext = ext.strip().lstrip(".").lower()
    if ext == "jpeg":
        ext = "jpg"
    if not _EXTENSION.fullmatch(ext):
        raise ValueError(f"not a file extension: {ext!r}")
    return ext


def photo_archive_name(
    borrower_name: str, product_name: str, item_name: str, sequence: int, ext: str = "jpg"
) -> str:
    """Relative path of one photo inside an export archive: "<folder>/<file>".

    >>> photo_archive_name("张三", "农户小额信用贷款", "借款调查表", 1)
    '张三_农户小额信用贷款/张三的借款调查表(1).jpg'
    """
    # bool is an int; True as a sequence number is a caller bug, not photo number 1.
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        raise ValueError(f"sequence must be a positive integer, not {sequence!r}")
    borrower = safe_name_component(borrower_name)
    folder = f"{borrower}_{safe_name_component(product_name)}"
    file_name = f"{borrower}的{safe_name_component(item_name)}({sequence}).{_normalise_extension(ext)}"
    return f"{folder}/{file_name}"
