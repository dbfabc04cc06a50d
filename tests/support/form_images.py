"""Synthetic phone photos of the paper forms loan officers photograph in the field.

Two forms are drawn with Pillow and Noto CJK: the loan application survey form
(借款调查表, A4 portrait) and the IOU (借款借据, A5 landscape). Labels are printed in a
Song-style serif at 10.5 pt (五号, the usual body size), filled-in values in a sans at
12 pt (小四), as when a form is filled in on a computer and printed; small print is the
hard case for OCR after downscaling. With ``photo_effects`` the sheet lies on a darker desk,
fills about 85 % of the frame, is turned by up to 2 degrees, lit unevenly, slightly out
of focus and carries sensor noise, so that a 4032x3024 render encoded by
``to_camera_jpeg`` looks and weighs like a 12 MP phone photo (about 2.5-5 MB).

Everything random comes from the caller's ``random.Random``, so a seed gives the
same fields and the same pixels.

``officer_photo`` is the realistic set: a form or the front of a resident ID card shot by hand
as officers do — turned by several degrees, seen at a slant (perspective), out of focus, lit
from one side with a shadow across it, sensor noise, then shrunk to the uploaded size and
JPEG-compressed at a phone's quality (block noise), as the server receives it.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from app.domain.idcard import check_digit
from app.domain.money import format_money, to_capitals

__all__ = [
    "FONT_DIR",
    "KINDS",
    "FormFields",
    "date_text",
    "id_card_address",
    "officer_photo",
    "random_fields",
    "render_form",
    "to_camera_jpeg",
]

FONT_DIR = Path("/usr/share/fonts/opentype/noto")
# Face index 2 in the Noto CJK collections is the Simplified Chinese (SC) variant.
_SC_INDEX = 2
KINDS: tuple[str, ...] = ("survey", "iou", "id_card")

# --- fields --------------------------------------------------------------------

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝"
)
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕彬鹏辉建国志春梅海林成福贵"

# Real county-level region codes of rural counties, with names for the address line.
_COUNTIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("410922", "河南省清丰县", ("马庄桥镇", "瓦屋头镇", "韩村镇")),
    ("411522", "河南省光山县", ("槐店乡", "泼陂河镇", "白雀园镇")),
    ("511321", "四川省南部县", ("升钟镇", "建兴镇", "大桥镇")),
    ("522422", "贵州省大方县", ("羊场镇", "猫场镇", "果瓦乡")),
    ("530629", "云南省威信县", ("扎西镇", "双河乡", "麟凤镇")),
    ("622421", "甘肃省通渭县", ("马营镇", "义岗川镇", "陇阳镇")),
    ("360732", "江西省兴国县", ("长冈乡", "埠头乡", "龙口镇")),
    ("341222", "安徽省太和县", ("旧县镇", "宫集镇", "双浮镇")),
)
_VILLAGE_STEMS = ("王庄", "李家", "东关", "前营", "后寨", "柳河", "杨湾", "高坪", "石桥", "新村")
_PHONE_PREFIXES = ("130", "131", "132", "135", "136", "138", "139", "150", "151", "152",
                   "155", "158", "159", "176", "177", "180", "182", "183", "187", "189", "199")


@dataclass(frozen=True)
class FormFields:
    """The facts a loan officer writes on the form and OCR should read back."""

    name: str
    id_number: str
    amount: Decimal
    amount_in_capitals: str
    date: date
    phone: str
    village: str


def date_text(d: date) -> str:
    """Date as written on the forms, without zero padding: 2026年3月5日."""
    return f"{d.year}年{d.month}月{d.day}日"


def random_fields(rng: random.Random) -> FormFields:
    """Plausible applicant: valid ID (adult on the application date), whole-hundred amount."""
    name = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2, 2))))
    start, end = date(2025, 1, 1), date(2026, 12, 31)
    applied = start + timedelta(days=rng.randrange((end - start).days + 1))
    code, county, towns = rng.choice(_COUNTIES)
    birth = date(rng.randint(1960, 2002), rng.randint(1, 12), rng.randint(1, 28))
    first17 = f"{code}{birth:%Y%m%d}{rng.randint(1, 999):03d}"
    amount = Decimal(rng.randint(10, 1000) * 100)
    phone = rng.choice(_PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    village = f"{county}{rng.choice(towns)}{rng.choice(_VILLAGE_STEMS)}村{rng.randint(1, 9)}组"
    return FormFields(
        name=name,
        id_number=first17 + check_digit(first17),
        amount=amount,
        amount_in_capitals=to_capitals(amount),
        date=applied,
        phone=phone,
        village=village,
    )


# --- drawing the paper form -------------------------------------------------------

_PT_MM = 25.4 / 72  # one typographic point in millimetres
# A4 portrait, A5 landscape, and the ID-1 card size of the resident ID card.
_PAPER_MM = {"survey": (210.0, 297.0), "iou": (210.0, 148.0), "id_card": (85.6, 54.0)}
_PAPER_RGB = (243, 240, 232)
_INK_RGB = (28, 28, 34)

_PURPOSES = ("购买化肥种子", "扩大肉牛养殖", "购置小型农机", "蔬菜大棚建设", "生猪养殖周转", "茶园管护")
_SURVEY_REMARKS = (
    "经实地走访，该户家庭成员身体健康，劳动力充足，邻里评价良好。",
    "借款人无不良信用记录，种养殖经营稳定，具备按期还款能力。",
    "调查人已核对身份证原件及户口簿，本人签字属实，同意上报审批。",
)


@lru_cache(maxsize=64)
def _font(family: str, weight: str, px: int) -> ImageFont.FreeTypeFont:
    path = FONT_DIR / f"Noto{family}CJK-{weight}.ttc"
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: apt-get install -y fonts-noto-cjk")
    return ImageFont.truetype(str(path), px, index=_SC_INDEX)


class _Sheet:
    """Draws in millimetres on a paper of known pixel density."""

    def __init__(self, kind: str, px_per_mm: float, rng: random.Random) -> None:
        w_mm, h_mm = _PAPER_MM[kind]
        self.k = px_per_mm
        self.rng = rng
        self.image = Image.new("RGB", (round(w_mm * px_per_mm), round(h_mm * px_per_mm)), _PAPER_RGB)
        self.draw = ImageDraw.Draw(self.image)
        # Each printout differs a little in scale, like different offices' templates.
        self.jitter = rng.uniform(0.95, 1.05)

    def font(self, family: str, weight: str, pt: float) -> ImageFont.FreeTypeFont:
        return _font(family, weight, max(6, round(pt * _PT_MM * self.k * self.jitter)))

    def text(self, x_mm: float, y_mm: float, s: str, font: ImageFont.FreeTypeFont,
             anchor: str = "lm") -> None:
        # Slight per-string ink density: toner is never perfectly even.
        shade = self.rng.randint(-8, 12)
        ink = tuple(max(0, c + shade) for c in _INK_RGB)
        self.draw.text((x_mm * self.k, y_mm * self.k), s, font=font, fill=ink, anchor=anchor)

    def line(self, x0: float, y0: float, x1: float, y1: float, width_mm: float = 0.3) -> None:
        self.draw.line([(x0 * self.k, y0 * self.k), (x1 * self.k, y1 * self.k)],
                       fill=(50, 50, 56), width=max(1, round(width_mm * self.k)))

    def table(self, x: float, y: float, label_w: float, value_w: float, row_h: float,
              rows: list[tuple[str, str]], label_pt: float, value_pt: float) -> float:
        """Two-column ruled table; returns the y below it."""
        label_font = self.font("Serif", "Regular", label_pt)
        value_font = self.font("Sans", "Regular", value_pt)
        right = x + label_w + value_w
        self.line(x, y, right, y, 0.5)
        for i, (label, value) in enumerate(rows):
            mid = y + (i + 0.5) * row_h
            self.text(x + 2.5, mid, label, label_font)
            self.text(x + label_w + 3.5, mid, value, value_font)
            self.line(x, y + (i + 1) * row_h, right, y + (i + 1) * row_h,
                      0.5 if i == len(rows) - 1 else 0.3)
        bottom = y + len(rows) * row_h
        for vx in (x, x + label_w, right):
            self.line(vx, y, vx, bottom, 0.5 if vx != x + label_w else 0.3)
        return bottom


def _field_rows(f: FormFields, date_label: str) -> list[tuple[str, str]]:
    return [
        ("借款人姓名", f.name),
        ("身份证号码", f.id_number),
        ("联系电话", f.phone),
        ("住址", f.village),
        ("借款金额（小写）", f"¥{format_money(f.amount)}"),
        ("借款金额（大写）", f.amount_in_capitals),
        (date_label, date_text(f.date)),
    ]


def _draw_survey(s: _Sheet, f: FormFields) -> None:
    rng = s.rng
    s.text(105, 22, "农户小额信用贷款借款调查表", s.font("Serif", "Bold", 22), anchor="mm")
    small = s.font("Serif", "Regular", 10.5)
    s.text(20, 34, f"填报单位：{f.village[:6]}农村信用合作联社", small)
    s.text(190, 34, f"编号：DDT-{f.date.year}-{rng.randrange(10**5):05d}", small, anchor="rm")
    rows = _field_rows(f, "申请日期") + [
        ("借款用途", rng.choice(_PURPOSES)),
        ("借款期限", f"{rng.choice((6, 12, 18, 24, 36))}个月"),
        ("担保方式", rng.choice(("信用", "保证", "联保"))),
        ("家庭人口", f"{rng.randint(2, 7)}人，劳动力{rng.randint(1, 4)}人"),
    ]
    bottom = s.table(20, 40, 48, 122, 13.5, rows, label_pt=10.5, value_pt=12)
    body = s.font("Serif", "Regular", 12)
    s.text(22, bottom + 10, "调查人意见：", body)
    for i, remark in enumerate(rng.sample(_SURVEY_REMARKS, 2)):
        s.text(30, bottom + 20 + 9 * i, remark, body)
    s.text(22, bottom + 46, "调查人（签字）：__________", body)
    s.text(112, bottom + 46, "复核人（签字）：__________", body)
    s.text(105, 280, "本表一式两份，信用社与借款人各执一份。", small, anchor="mm")


def _draw_iou(s: _Sheet, f: FormFields) -> None:
    rng = s.rng
    s.text(105, 15, "借 款 借 据", s.font("Serif", "Bold", 20), anchor="mm")
    small = s.font("Serif", "Regular", 9)
    s.text(195, 24, f"借据号：JJ{f.date.year}{rng.randrange(10**6):06d}", small, anchor="rm")
    rows = _field_rows(f, "借款日期") + [("借款用途", rng.choice(_PURPOSES))]
    bottom = s.table(15, 29, 42, 138, 11.0, rows, label_pt=10.5, value_pt=12)
    body = s.font("Serif", "Regular", 11)
    s.text(17, bottom + 8, "借款人承诺按合同约定用途使用借款，按期归还本息，逾期按约计收罚息。", body)
    s.text(17, bottom + 17, "借款人（签字捺印）：__________", body)
    s.text(118, bottom + 17, "经办人：__________", body)


def id_card_address(f: FormFields) -> str:
    """The registered address printed on the card: the village plus a house number."""
    return f"{f.village}{int(f.id_number[14:17]) % 60 + 1}号"


def _draw_id_card(s: _Sheet, f: FormFields) -> None:
    """Front of a second-generation resident ID card (the side with the holder's data)."""
    # Pale blue-green guilloche-like background, light enough for the text to stand out.
    w, h = s.image.size
    for i in range(0, w + h, max(3, round(2.2 * s.k))):
        s.draw.line([(i, 0), (i - h, h)], fill=(214, 226, 228), width=1)
    label = s.font("Sans", "Regular", 8.5)
    value = s.font("Sans", "Regular", 9.5)
    blue = (48, 96, 156)

    def lab(x: float, y: float, text: str) -> None:
        s.draw.text((x * s.k, y * s.k), text, font=label, fill=blue, anchor="lm")

    birth = date(int(f.id_number[6:10]), int(f.id_number[10:12]), int(f.id_number[12:14]))
    sex = "男" if int(f.id_number[16]) % 2 else "女"
    lab(6, 9, "姓名")
    s.text(17, 9, f.name, s.font("Sans", "Regular", 11))
    lab(6, 16.5, "性别")
    s.text(17, 16.5, sex, value)
    lab(30, 16.5, "民族")
    s.text(41, 16.5, "汉", value)
    lab(6, 24, "出生")
    s.text(17, 24, f"{birth.year}年{birth.month}月{birth.day}日", value)
    lab(6, 31.5, "住址")
    address = id_card_address(f)
    for i in range(0, len(address), 11):  # the card wraps the address at 11 characters
        s.text(17, 31.5 + (i // 11) * 5.2, address[i:i + 11], value)
    s.draw.rectangle((56 * s.k, 7 * s.k, 81 * s.k, 38 * s.k), fill=(196, 204, 212))  # the portrait
    lab(6, 47, "公民身份号码")
    s.text(30, 47, f.id_number, s.font("Sans", "Bold", 11.5))


# --- the photo ---------------------------------------------------------------------


def _desk(size: tuple[int, int], rng: random.Random, nrng: np.random.Generator) -> Image.Image:
    """Dark, blotchy surface (table top) the sheet lies on."""
    base = np.array(rng.choice(((82, 62, 44), (64, 64, 70), (96, 78, 60), (52, 48, 46))),
                    dtype=np.float32)
    coarse = nrng.normal(1.0, 0.12, (12, 16)).astype(np.float32)
    blotch = Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC)
    arr = base[None, None, :] * np.asarray(blotch)[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def _lighting(size: tuple[int, int], rng: random.Random) -> np.ndarray:
    """Multiplicative light field: a linear fall-off from one side plus a vignette."""
    w, h = size
    # Computed at 1/8 resolution and upscaled: the field is smooth and this is 64x cheaper.
    sw, sh = max(2, w // 8), max(2, h // 8)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    xx, yy = xx / (sw - 1) - 0.5, yy / (sh - 1) - 0.5
    theta = rng.uniform(0, 2 * math.pi)
    ramp = xx * math.cos(theta) + yy * math.sin(theta)  # in [-0.71, 0.71]
    strength = rng.uniform(0.18, 0.32)
    field = 1.0 - strength * (ramp + 0.71) / 1.42 - 0.22 * (xx**2 + yy**2) + 0.04
    small = Image.fromarray(field.astype(np.float32))
    return np.asarray(small.resize(size, Image.Resampling.BILINEAR))


def _flat(paper: Image.Image, size: tuple[int, int]) -> Image.Image:
    canvas = Image.new("RGB", size, _PAPER_RGB)
    canvas.paste(paper, ((size[0] - paper.width) // 2, (size[1] - paper.height) // 2))
    return canvas


def render_form(
    fields: FormFields,
    *,
    kind: str = "survey",
    size: tuple[int, int] = (4032, 3024),
    rng: random.Random | None = None,
    photo_effects: bool = True,
    handheld: bool = False,
) -> Image.Image:
    """Draw ``kind`` ("survey", "iou" or "id_card") filled with ``fields`` as an RGB image of ``size``.

    Without ``photo_effects`` the sheet is drawn flat, unrotated and noise-free, centred
    and as large as fits; useful where a test needs a clean scan. ``handheld`` makes the
    photo harder, as a hurried officer takes it: turned by up to 6 degrees, a perspective
    slant, more defocus, stronger uneven light with a shadow band.
    """
    if kind not in _PAPER_MM:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    rng = rng or random.Random(0)
    w, h = size
    w_mm, h_mm = _PAPER_MM[kind]
    fill = (rng.uniform(0.72, 0.84) if handheld else rng.uniform(0.82, 0.88)) if photo_effects else 0.97
    # Fit the sheet's long side to ~85 % of the frame, whichever dimension binds first.
    px_per_mm = fill * min(w / w_mm, h / h_mm)
    sheet = _Sheet(kind, px_per_mm, rng)
    {"survey": _draw_survey, "iou": _draw_iou, "id_card": _draw_id_card}[kind](sheet, fields)
    if not photo_effects:
        return _flat(sheet.image, size)

    nrng = np.random.default_rng(rng.getrandbits(64))
    scene = _desk(size, rng, nrng)
    paper = sheet.image.convert("RGBA")
    turn = 6.0 if handheld else 2.0
    paper = paper.rotate(rng.uniform(-turn, turn), resample=Image.Resampling.BICUBIC, expand=True)
    cx = (w - paper.width) // 2 + rng.randint(-w // 60, w // 60)
    cy = (h - paper.height) // 2 + rng.randint(-h // 60, h // 60)
    # Soft contact shadow, blurred at 1/8 scale because a 12 MP blur of 30 px is slow.
    alpha = paper.getchannel("A")
    shadow_small = alpha.resize((alpha.width // 8, alpha.height // 8)).filter(ImageFilter.GaussianBlur(3))
    shadow = shadow_small.resize(alpha.size, Image.Resampling.BILINEAR).point(lambda v: int(v * 0.55))
    scene.paste((12, 10, 8), (cx + w // 250, cy + h // 200), shadow)
    scene.paste(paper, (cx, cy), alpha)

    if handheld:
        scene = _slant(scene, rng)
    # Optics before the sensor: defocus blur, then uneven light, then noise on top.
    # Blur is in pixels of a 12 MP frame; smaller renders get proportionally less.
    px = max(w, h) / 4032
    scene = scene.filter(ImageFilter.GaussianBlur(rng.uniform(1.2, 2.2) * px if handheld
                                                  else rng.uniform(0.8, 1.3)))
    arr = np.asarray(scene, dtype=np.float32)
    arr *= _lighting(size, rng)[..., None]
    if handheld:
        arr *= _shadow_band(size, rng)[..., None]
    # Mostly luminance noise; phones denoise chroma harder, so less of that.
    sigma = rng.uniform(2.6, 4.0)
    arr += nrng.standard_normal((h, w, 1), dtype=np.float32) * sigma
    arr += nrng.standard_normal(arr.shape, dtype=np.float32) * (sigma * 0.5)
    np.clip(arr, 0, 255, out=arr)
    return Image.fromarray(arr.astype(np.uint8), "RGB")


def _slant(scene: Image.Image, rng: random.Random) -> Image.Image:
    """Perspective of a phone held not quite parallel to the desk: each corner moves up to 5 %."""
    w, h = scene.size
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    moved = [(x + rng.uniform(-0.05, 0.05) * w, y + rng.uniform(-0.05, 0.05) * h) for x, y in corners]
    # The 8 coefficients that map each output corner to where it is taken from.
    rows, rhs = [], []
    for (x, y), (u, v) in zip(corners, moved, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.extend((u, v))
    coeffs = np.linalg.solve(np.array(rows, dtype=np.float64), np.array(rhs, dtype=np.float64))
    return scene.transform(scene.size, Image.Transform.PERSPECTIVE, tuple(coeffs),
                           resample=Image.Resampling.BICUBIC, fillcolor=(40, 36, 34))


def _shadow_band(size: tuple[int, int], rng: random.Random) -> np.ndarray:
    """A soft shadow across part of the frame (the officer's hand or phone)."""
    w, h = size
    sw, sh = max(2, w // 8), max(2, h // 8)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    theta = rng.uniform(0, 2 * math.pi)
    dist = (xx / sw - rng.uniform(0.2, 0.8)) * math.cos(theta) + (yy / sh - rng.uniform(0.2, 0.8)) * math.sin(theta)
    depth = rng.uniform(0.15, 0.3)
    field = 1.0 - depth / (1.0 + np.exp(-dist * 25.0))
    return np.asarray(Image.fromarray(field.astype(np.float32)).resize(size, Image.Resampling.BILINEAR))


def officer_photo(
    fields: FormFields,
    kind: str,
    rng: random.Random,
    *,
    long_edge: int = 1600,
) -> bytes:
    """JPEG bytes of ``kind`` as the server receives an officer's photo of it.

    Rendered hand-held at 1.5x the uploaded size (forms upright, so portrait for the survey
    form and landscape for the IOU and the ID card), shrunk to ``long_edge`` like the phone
    app does, and encoded at a random quality between 70 and 85, whose block artefacts are
    part of what OCR has to read through.
    """
    big = round(long_edge * 1.5)
    size = (big * 3 // 4, big) if kind == "survey" else (big, big * 3 // 4)
    image = render_form(fields, kind=kind, size=size, rng=rng, handheld=True)
    scale = long_edge / max(image.size)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=rng.randint(70, 85), subsampling="4:2:0")
    return buf.getvalue()


def to_camera_jpeg(image: Image.Image, quality: int = 92) -> bytes:
    """Encode like a phone camera does (baseline JPEG, 4:2:0 chroma, quality 92)."""
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality, subsampling="4:2:0")
    return buf.getvalue()
