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
    "random_fields",
    "render_form",
    "to_camera_jpeg",
]

FONT_DIR = Path("/usr/share/fonts/opentype/noto")
# Face index 2 in the Noto CJK collections is the Simplified Chinese (SC) variant.
_SC_INDEX = 2
KINDS: tuple[str, ...] = ("survey", "iou")

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
_PAPER_MM = {"survey": (210.0, 297.0), "iou": (210.0, 148.0)}  # A4 portrait, A5 landscape
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
) -> Image.Image:
    """Draw ``kind`` ("survey" or "iou") filled with ``fields`` as an RGB image of ``size``.

    Without ``photo_effects`` the sheet is drawn flat, unrotated and noise-free, centred
    and as large as fits; useful where a test needs a clean scan.
    """
    if kind not in _PAPER_MM:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    rng = rng or random.Random(0)
    w, h = size
    w_mm, h_mm = _PAPER_MM[kind]
    fill = rng.uniform(0.82, 0.88) if photo_effects else 0.97
    # Fit the sheet's long side to ~85 % of the frame, whichever dimension binds first.
    px_per_mm = fill * min(w / w_mm, h / h_mm)
    sheet = _Sheet(kind, px_per_mm, rng)
    (_draw_survey if kind == "survey" else _draw_iou)(sheet, fields)
    if not photo_effects:
        return _flat(sheet.image, size)

    nrng = np.random.default_rng(rng.getrandbits(64))
    scene = _desk(size, rng, nrng)
    paper = sheet.image.convert("RGBA")
    paper = paper.rotate(rng.uniform(-2.0, 2.0), resample=Image.Resampling.BICUBIC, expand=True)
    cx = (w - paper.width) // 2 + rng.randint(-w // 60, w // 60)
    cy = (h - paper.height) // 2 + rng.randint(-h // 60, h // 60)
    # Soft contact shadow, blurred at 1/8 scale because a 12 MP blur of 30 px is slow.
    alpha = paper.getchannel("A")
    shadow_small = alpha.resize((alpha.width // 8, alpha.height // 8)).filter(ImageFilter.GaussianBlur(3))
    shadow = shadow_small.resize(alpha.size, Image.Resampling.BILINEAR).point(lambda v: int(v * 0.55))
    scene.paste((12, 10, 8), (cx + w // 250, cy + h // 200), shadow)
    scene.paste(paper, (cx, cy), alpha)

    # Optics before the sensor: defocus blur, then uneven light, then noise on top.
    scene = scene.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 1.3)))
    arr = np.asarray(scene, dtype=np.float32)
    arr *= _lighting(size, rng)[..., None]
    # Mostly luminance noise; phones denoise chroma harder, so less of that.
    sigma = rng.uniform(2.6, 4.0)
    arr += nrng.standard_normal((h, w, 1), dtype=np.float32) * sigma
    arr += nrng.standard_normal(arr.shape, dtype=np.float32) * (sigma * 0.5)
    np.clip(arr, 0, 255, out=arr)
    return Image.fromarray(arr.astype(np.uint8), "RGB")


def to_camera_jpeg(image: Image.Image, quality: int = 92) -> bytes:
    """Encode like a phone camera does (baseline JPEG, 4:2:0 chroma, quality 92)."""
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality, subsampling="4:2:0")
    return buf.getvalue()
