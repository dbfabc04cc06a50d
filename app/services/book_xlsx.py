"""The rows of an .xlsx workbook's sheets, streamed with the C expat parser.

openpyxl's read-only reader spends ~60 µs a cell in Python (ElementTree events, a cell object,
style look-ups): 5 M cells of a 100,000-loan book took minutes. This reader gives the same values
as ``openpyxl``'s ``iter_rows(values_only=True)`` — shared and inline strings (rich text runs joined,
phonetic runs left out), numbers as int or float as openpyxl casts them, booleans, dates where the
cell's number format is a date format (openpyxl's own test, plus the built-in CJK date formats
27–36 and 50–58 of Chinese Excel), the 1900 or 1904 date system — and an empty row where the sheet
skips one, so row numbers stay the spreadsheet's. Tests compare it with openpyxl
(tests/unit/test_book_xlsx.py). Formula cells give their cached value.
"""
from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from datetime import datetime
from xml.etree import ElementTree as ET
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

from app.domain.i18n import N_
from app.services.errors import ServiceError

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CJK_DATE_FORMATS = frozenset(range(27, 37)) | frozenset(range(50, 59))
_READ = 1 << 16


class NotAWorkbook(ServiceError):
    def __init__(self, detail: str = "") -> None:
        super().__init__("book_not_workbook", N_("This file is not an Excel workbook (.xlsx)."))
        self.detail = detail


def _local(name: str) -> str:
    return name.rsplit("|", 1)[-1]


def _target(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    path = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    try:
        root = ET.fromstring(zf.read(path))
    except KeyError:
        return {}
    return {r.get("Id"): (r.get("Type", ""), _target(part, r.get("Target", ""))) for r in root.iter(f"{PKG_REL}Relationship")}


def _shared_strings(zf: zipfile.ZipFile, path: str | None) -> list[str]:
    strings: list[str] = []
    if not path or path not in zf.namelist():
        return strings
    parts: list[str] = []
    depth = {"si": False, "t": False, "rPh": 0}

    def start(name, attrs):
        n = _local(name)
        if n == "si":
            depth["si"] = True
            parts.clear()
        elif n == "t":
            depth["t"] = True
        elif n == "rPh":
            depth["rPh"] += 1

    def end(name):
        n = _local(name)
        if n == "si":
            strings.append("".join(parts))
            depth["si"] = False
        elif n == "t":
            depth["t"] = False
        elif n == "rPh":
            depth["rPh"] -= 1

    def text(data):
        if depth["t"] and depth["si"] and not depth["rPh"]:
            parts.append(data)

    p = expat.ParserCreate(namespace_separator="|")
    p.buffer_text = True
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text
    with zf.open(path) as f:
        p.ParseFile(f)
    return strings


def _date_styles(zf: zipfile.ZipFile, path: str | None) -> frozenset[int]:
    if not path or path not in zf.namelist():
        return frozenset()
    root = ET.fromstring(zf.read(path))
    custom = {int(n.get("numFmtId")): n.get("formatCode", "") for n in root.iter(f"{MAIN}numFmt")}
    xfs = root.find(f"{MAIN}cellXfs")
    dates = set()
    for i, xf in enumerate(xfs.findall(f"{MAIN}xf") if xfs is not None else []):
        fid = int(xf.get("numFmtId", 0))
        code = custom.get(fid, BUILTIN_FORMATS.get(fid))
        if fid in CJK_DATE_FORMATS and fid not in custom or (code and is_date_format(code)):
            dates.add(i)
    return frozenset(dates)


def sheets(path) -> dict[str, Iterator[tuple]]:
    """{sheet name: its rows as tuples of values}, each streamed when iterated. Raises NotAWorkbook."""
    try:
        zf = zipfile.ZipFile(path)
        root_rels = ET.fromstring(zf.read("_rels/.rels"))
        book_part = next((r.get("Target").lstrip("/") for r in root_rels.iter(f"{PKG_REL}Relationship")
                          if r.get("Type", "").endswith("/officeDocument")), "xl/workbook.xml")
        book = ET.fromstring(zf.read(book_part))
    except (zipfile.BadZipFile, KeyError, ET.ParseError, OSError) as e:
        raise NotAWorkbook(str(e)) from None
    rels = _rels(zf, book_part)
    pr = book.find(f"{MAIN}workbookPr")
    epoch = CALENDAR_MAC_1904 if pr is not None and pr.get("date1904") in ("1", "true") else CALENDAR_WINDOWS_1900
    by_type = {t.rsplit("/", 1)[-1]: target for t, target in rels.values()}
    shared = _shared_strings(zf, by_type.get("sharedStrings"))
    dates = _date_styles(zf, by_type.get("styles"))
    out = {}
    for sheet in book.iter(f"{MAIN}sheet"):
        rel = rels.get(sheet.get(f"{REL}id"))
        if rel is None or not rel[0].endswith("/worksheet") or rel[1] not in zf.namelist():
            continue
        out[sheet.get("name")] = _rows(zf, rel[1], shared, dates, epoch)
    return out


def _column(ref: str) -> int:
    n = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            n = n * 26 + ord(ch) - 64
        else:
            break
    return n - 1


def _rows(zf: zipfile.ZipFile, part: str, shared: list[str], dates: frozenset[int], epoch) -> Iterator[tuple]:
    done: list[tuple] = []
    cells: list = []
    st = {"row": 0, "col": -1, "t": "n", "s": 0, "text": False}
    buf: list[str] = []

    names: dict[str, str] = {}

    def start(name, attrs):
        n = names.get(name) or names.setdefault(name, _local(name))
        if n == "c":
            ref = attrs.get("r")
            st["col"] = _column(ref) if ref else st["col"] + 1
            st["t"], st["s"] = attrs.get("t", "n"), int(attrs.get("s", 0))
            buf.clear()
        elif n == "v" or (n == "t" and st["t"] == "inlineStr"):
            st["text"] = True
        elif n == "row":
            r = attrs.get("r")
            number = int(r) if r else st["row"] + 1
            while st["row"] + 1 < number:  # rows the file leaves out are empty rows
                done.append(())
                st["row"] += 1
            st["row"], st["col"] = number, -1
            cells.clear()

    def end(name):
        n = names[name]
        if n in ("v", "t"):
            st["text"] = False
        elif n == "c":
            value = _value("".join(buf), st["t"], st["s"], shared, dates, epoch) if buf else None
            col = st["col"]
            if col >= len(cells):
                cells.extend([None] * (col + 1 - len(cells)))
            cells[col] = value
        elif n == "row":
            done.append(tuple(cells))

    def text(data):
        if st["text"]:
            buf.append(data)

    p = expat.ParserCreate(namespace_separator="|")
    p.buffer_text = True
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text
    with zf.open(part) as f:
        while True:
            chunk = f.read(_READ)
            p.Parse(chunk, not chunk)
            if done:
                ready = done[:]
                done.clear()
                yield from ready
            if not chunk:
                break


def _value(raw: str, t: str, s: int, shared: list[str], dates: frozenset[int], epoch):
    if t == "s":
        return shared[int(raw)]
    if t in ("str", "inlineStr", "e"):
        return raw
    if t == "b":
        return raw.strip() in ("1", "true")
    if t == "d":
        return datetime.fromisoformat(raw)
    number = float(raw) if ("." in raw or "E" in raw or "e" in raw) else int(raw)
    if s in dates:
        return from_excel(number, epoch)
    return number
