"""Sample credit-bureau reports for tests: the text of a 个人信用报告 laid out the way the extractor
(app/domain/bureau.py) was written for, and a PDF with that text as its text layer.

These are made up, not copies of real reports: they show the extractor reads what it was written
to read, not that it reads the bureau's real layout.

The PDF is written by hand (no PDF library in the requirements makes one): one page, a Type0 font
with Identity-H encoding whose ToUnicode map names every character used, so a text extractor reads
the Chinese back exactly. The glyphs are not embedded (a viewer substitutes a font).
"""
from __future__ import annotations

import io
from decimal import Decimal

from PIL import Image, ImageDraw


def report_text(*, report_no: str = "2026112000001234567", name: str = "王小明", id_masked: str = "410***********1234",
                open_loans: int = 2, overdue_count: int = 1, overdue_months: int = 3, worst: str = "关注",
                balance: Decimal = Decimal("35000.00"), id_number: str | None = None) -> str:
    """The report's text; ``id_number`` (whole) in place of the masked number when given."""
    return "\n".join([
        "个人信用报告",
        f"报告编号：{report_no}",
        "查询机构：某某农村信用合作社",
        "查询原因：贷前审查",
        f"被查询者姓名：{name}",
        f"证件号码：{id_number or id_masked}",
        "一、信贷交易信息概要",
        f"未结清贷款账户数：{open_loans}笔",
        f"未结清贷款余额合计：{balance:,.2f}元",
        f"当前逾期账户数：{overdue_count}",
        f"最长逾期月数：{overdue_months}",
        "二、信贷交易明细",
        "账户1 个人经营性贷款 五级分类：正常",
        f"账户2 农户贷款 五级分类：{worst}",
        "三、查询记录",
        "本报告仅供参考",
    ])


def _escape_hex(text: str) -> str:
    return "".join(f"{ord(c):04X}" for c in text)


def text_pdf(text: str) -> bytes:
    """A one-page PDF whose text layer is ``text`` (one line per line)."""
    chars = sorted({c for c in text if c != "\n"} | {" "})
    if any(ord(c) > 0xFFFF for c in chars):
        raise ValueError("characters beyond the BMP")
    lines = text.split("\n")
    content = ["BT", "/F1 12 Tf", "14 TL", "40 800 Td"]
    for line in lines:
        content.append(f"<{_escape_hex(line)}> Tj T*")
    content.append("ET")
    stream = "\n".join(content).encode("ascii")
    cmap_lines = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
                  "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
                  "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
                  "1 begincodespacerange", "<0000> <FFFF>", "endcodespacerange"]
    for start in range(0, len(chars), 100):
        chunk = chars[start:start + 100]
        cmap_lines.append(f"{len(chunk)} beginbfchar")
        cmap_lines.extend(f"<{ord(c):04X}> <{ord(c):04X}>" for c in chunk)
        cmap_lines.append("endbfchar")
    cmap_lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    cmap = "\n".join(cmap_lines).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >>"
        b" /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /Identity-H"
        b" /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /STSong-Light /CIDToGIDMap /Identity"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 >>",
        b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def scanned_pdf() -> bytes:
    """A PDF with no text layer (a page with nothing on it, as a scan without OCR reads)."""
    return text_pdf("")


FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def report_image(text: str = "") -> bytes:
    """A PNG of a report page: ``text`` drawn line by line in a CJK font (a clean scan, for OCR);
    without text, a page with one word (for the upload's type checks)."""
    from PIL import ImageFont

    lines = text.split("\n") if text else ["report"]
    image = Image.new("RGB", (1400, 90 + 60 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    try:
        font = ImageFont.truetype(FONT, 36, index=2)
    except OSError:
        font = ImageFont.load_default()
    for row, line in enumerate(lines):
        draw.text((40, 40 + 60 * row), line, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
