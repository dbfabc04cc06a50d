"""The real RapidOCR on rendered forms and an ID card, offline (models come with the wheel).

Four OCR runs in the whole file (about 1-3 s each) keep it fast; run it with the network
cut to prove nothing is downloaded:
``unshare -n .venv/bin/python -m pytest tests/integration/test_ocr_engine.py -q -p no:cacheprovider``
"""
from __future__ import annotations

import io
import json
import random
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image, ImageDraw, ImageFont

from app.domain.documents import DocumentKind
from app.domain.idcard import check_digit
from app.domain.money import from_capitals
from app.ocr import engines
from app.ocr.cli import register
from app.ocr.engines import OcrEngine, OcrUnavailable, make_engine, prepare_image
from app.ocr.fields import amounts_agree, extract_fields
from tests.support.form_images import FormFields, id_card_address, officer_photo, random_fields, render_form

TODAY = date(2027, 1, 1)  # after every date random_fields can produce
FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    made = make_engine("rapidocr")
    assert made is not None
    return made


def _fields_of(engine: OcrEngine, image: Image.Image) -> dict[str, dict]:
    result = engine.read(image)
    assert result.engine == "rapidocr" and result.lines
    return extract_fields([(ln.text, ln.confidence) for ln in result.lines], today=TODAY)


def _expected(f: FormFields) -> dict[str, str]:
    return {
        "name": f.name,
        "id_number": f.id_number,
        "amount": f"{f.amount:.2f}",
        "amount_in_capitals": f"{from_capitals(f.amount_in_capitals):.2f}",
        "date": f.date.isoformat(),
    }


def test_survey_form_fields_are_read_back(engine: OcrEngine) -> None:
    rng = random.Random(20260305)
    form = random_fields(rng)
    image = render_form(form, kind="survey", size=(1200, 1600), rng=rng, photo_effects=False)
    result = engine.read(image)
    # Reading order: the table's label cell comes right before its value cell.
    texts = [ln.text for ln in result.lines]
    assert texts.index(form.name) == texts.index("借款人姓名") + 1
    assert all(0.0 <= ln.confidence <= 1.0 and len(ln.box) == 4 for ln in result.lines)
    assert result.seconds > 0
    fields = extract_fields([(ln.text, ln.confidence) for ln in result.lines], today=TODAY)
    assert {k: v["value"] for k, v in fields.items()} == _expected(form)
    assert fields["amount_in_capitals"]["text"] == form.amount_in_capitals
    assert amounts_agree(fields) is True


def _id_card(name: str, number: str) -> Image.Image:
    """A resident ID card's front, laid out like the real one (85.6 x 54 mm at ~14 px/mm)."""
    card = Image.new("RGB", (1200, 760), (226, 234, 240))
    draw = ImageDraw.Draw(card)
    label = ImageFont.truetype(FONT, 34, index=2)
    value = ImageFont.truetype(FONT, 38, index=2)
    number_font = ImageFont.truetype(FONT, 44, index=2)
    blue, ink = (60, 110, 170), (20, 20, 24)
    draw.text((80, 90), "姓名", font=label, fill=blue)
    draw.text((210, 86), name, font=value, fill=ink)
    draw.text((80, 175), "性别", font=label, fill=blue)
    draw.text((210, 171), "男", font=value, fill=ink)
    draw.text((360, 175), "民族", font=label, fill=blue)
    draw.text((480, 171), "汉", font=value, fill=ink)
    draw.text((80, 260), "出生", font=label, fill=blue)
    draw.text((210, 256), "1985年6月12日", font=value, fill=ink)
    draw.text((80, 345), "住址", font=label, fill=blue)
    draw.text((210, 341), "河南省清丰县马庄桥镇", font=value, fill=ink)
    draw.text((210, 396), "王庄村3组18号", font=value, fill=ink)
    draw.rectangle((800, 80, 1120, 480), fill=(200, 208, 216))  # the photo
    draw.text((80, 600), "公民身份号码", font=label, fill=blue)
    draw.text((360, 594), number, font=number_font, fill=ink)
    return card


def test_id_card_name_and_number(engine: OcrEngine) -> None:
    first17 = "41092219850612123"
    number = first17 + check_digit(first17)
    fields = _fields_of(engine, _id_card("张三", number))
    assert fields["name"]["value"] == "张三"
    assert fields["id_number"]["value"] == number
    assert "date" not in fields  # the card's only date is the birth date, never a document date


# --- photos as officers take them (turned, slanted, blurred, unevenly lit, JPEG) ------------------


def _photo(kind: str, seed: int) -> tuple[FormFields, Image.Image]:
    rng = random.Random(seed)
    form = random_fields(rng)
    return form, Image.open(io.BytesIO(officer_photo(form, kind, rng)))


def _read(engine: OcrEngine, image: Image.Image, kind: DocumentKind) -> dict[str, dict]:
    result = engine.read(image)
    return extract_fields([(ln.text, ln.confidence) for ln in result.lines], today=TODAY, kind=kind)


def test_id_card_photo_proposes_the_cards_facts_and_no_iou_date(engine: OcrEngine) -> None:
    form, photo = _photo("id_card", 11)
    fields = _read(engine, photo, DocumentKind.ID_CARD)
    assert fields["name"]["value"] == form.name
    assert fields["id_number"]["value"] == form.id_number
    number = form.id_number
    assert fields["birth_date"]["value"] == f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
    assert fields["sex"]["value"] == ("男" if int(number[16]) % 2 else "女")
    assert fields["address"]["value"] == id_card_address(form)
    assert not {"date", "amount", "amount_in_capitals"} & set(fields)


def test_iou_photo_proposes_amount_capitals_date_and_name(engine: OcrEngine) -> None:
    form, photo = _photo("iou", 12)
    fields = _read(engine, photo, DocumentKind.IOU)
    assert {k: v["value"] for k, v in fields.items()} == _expected(form)
    assert fields["amount_in_capitals"]["text"] == form.amount_in_capitals
    assert not {"sex", "birth_date", "address"} & set(fields)


def test_cli_batch_reads_iou_and_reports_broken_file(tmp_path: Path) -> None:
    rng = random.Random(7)
    form = random_fields(rng)
    image = render_form(form, kind="iou", size=(1600, 1200), rng=rng, photo_effects=False)
    image.save(tmp_path / "a_iou.jpg", quality=92)
    (tmp_path / "b_broken.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "notes.txt").write_text("ignored")
    app = Flask(__name__)
    register(app)
    out = app.test_cli_runner().invoke(args=["ocr", "batch", str(tmp_path)])
    assert out.exit_code == 1, out.output  # one file was unreadable
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["file"] for r in records] == ["a_iou.jpg", "b_broken.jpg"]
    assert "error" in records[1]
    got = records[0]
    assert got["engine"] == "rapidocr"
    assert {k: v["value"] for k, v in got["fields"].items()} == _expected(form)


def test_cli_extract_small_image_then_failures(tmp_path: Path) -> None:
    # A rotated phone shot: pixels stored landscape, EXIF says "turn 90° clockwise to view".
    upright = Image.new("RGB", (420, 120), "white")
    ImageDraw.Draw(upright).text((20, 30), "日期：2026年3月5日", font=ImageFont.truetype(FONT, 40, index=2),
                                 fill="black")
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, format="JPEG", quality=95, exif=exif)
    photo = tmp_path / "date.jpg"
    photo.write_bytes(buf.getvalue())

    app = Flask(__name__)
    app.config["OCR_ENGINE"] = "rapidocr"
    register(app)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["ocr", "extract", str(photo)])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert set(doc) == {"engine", "seconds", "lines", "fields"}
    assert doc["fields"]["date"]["value"] == "2026-03-05"
    assert "2026年3月5日" in out.stdout  # ensure_ascii=False
    # Told it is an ID card, the command proposes no document date from it.
    out = runner.invoke(args=["ocr", "extract", str(photo), "--kind", "id_card"])
    assert out.exit_code == 0 and json.loads(out.stdout)["fields"] == {}
    out = runner.invoke(args=["ocr", "extract", str(photo), "--kind", "passport"])
    assert out.exit_code == 2 and "--kind" in out.output

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG garbage")
    out = runner.invoke(args=["ocr", "extract", str(broken)])
    assert out.exit_code == 2 and "cannot read image" in out.output
    out = runner.invoke(args=["ocr", "extract", str(tmp_path / "missing.jpg")])
    assert out.exit_code == 2 and "cannot read image" in out.output
    out = runner.invoke(args=["ocr", "extract", str(photo), "--engine", "easyocr"])
    assert out.exit_code == 2 and "unavailable" in out.output
    out = runner.invoke(args=["ocr", "extract", str(photo), "--engine", "none"])
    assert out.exit_code == 2 and "switched off" in out.output
    out = runner.invoke(args=["ocr", "batch", str(photo)])
    assert out.exit_code == 2 and "not a folder" in out.output


def test_prepare_image_applies_exif_orientation_and_downscales() -> None:
    stored = Image.new("RGB", (4000, 3000), "white")
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, format="JPEG", exif=exif)
    prepared = prepare_image(Image.open(io.BytesIO(buf.getvalue())))
    assert prepared.size == (1500, 2000) and prepared.mode == "RGB"
    small = Image.new("L", (800, 600))
    assert prepare_image(small).size == (800, 600)


def test_make_engine_names() -> None:
    assert make_engine("none") is None
    assert make_engine("RapidOCR").name == "rapidocr"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unknown OCR engine"):
        make_engine("tesseract")


def test_easyocr_not_installed() -> None:
    with pytest.raises(OcrUnavailable) as info:
        make_engine("easyocr", model_dir="/srv/ocr-models")
    assert info.value.message == "EasyOCR is not installed"


def test_easyocr_weights_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # easyocr is not installed here; pretend it is to reach the weights check.
    monkeypatch.setattr(engines, "_easyocr_installed", lambda: True)
    (tmp_path / "craft_mlt_25k.pth").write_bytes(b"")  # one of the two files only
    with pytest.raises(OcrUnavailable) as info:
        make_engine("easyocr", model_dir=str(tmp_path))
    assert info.value.message == "EasyOCR weights are not installed at %(path)s"
    assert info.value.params == {"path": str(tmp_path)}
    assert str(tmp_path) in str(info.value)


def _network_namespace_available() -> bool:
    import shutil
    import subprocess

    return bool(shutil.which("unshare")) and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _network_namespace_available(), reason="needs `unshare -n` (root, or user namespaces)")
def test_the_ocr_command_reads_a_form_with_the_network_cut(tmp_path: Path) -> None:
    """In a network namespace with no interface at all: any download would fail the run."""
    import os
    import subprocess
    import sys

    rng = random.Random(777)
    form = random_fields(rng)
    image_path = tmp_path / "iou.jpg"
    render_form(form, kind="iou", size=(1600, 1200), rng=rng, photo_effects=False).save(image_path, quality=85)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PHOTO_DIR": str(tmp_path / "photos")}
    done = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "flask", "--app", "app", "ocr", "extract", str(image_path)],
        capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[2], timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["engine"] == "rapidocr"
    assert result["fields"]["name"]["value"] == form.name
    assert result["fields"]["amount"]["value"] == f"{form.amount:.2f}"


# --- the app: proposals follow the photo's collection item (real DB, real OCR thread) ------------


def test_the_app_proposes_by_collection_item_and_screenshots_inherit_it(app, demo) -> None:
    from datetime import datetime, timezone

    from flask import render_template
    from sqlalchemy import select

    from app.domain.entry import FIELDS
    from app.extensions import db
    from app.models import Application, Borrower, OcrRun, Photo, User
    from app.services import ocr as ocr_service
    from app.services import screenshots
    from app.storage import make_store, sha256_of_file

    rng = random.Random(11)
    form = random_fields(rng)
    data = officer_photo(form, "id_card", rng)
    now = datetime.now(timezone.utc)
    with app.app_context():
        a = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == "王五"))
        store = make_store(app.config)
        tmp = store.uploads_dir / "card.jpg"
        tmp.write_bytes(data)
        digest = sha256_of_file(tmp)
        store.put_file(digest, tmp)

        def attach(code: str, sha: str, sequence: int) -> Photo:
            item = next(i for i in a.product.items if i.code == code)
            photo = Photo(application=a, collection_item_id=item.id, sequence=sequence, sha256=sha,
                          size_bytes=len(data), width=1600, height=1200, received_at=now)
            db.session.add(photo)
            db.session.commit()
            return photo

        card = attach("id_front", digest, 9)
        assert ocr_service.kind_of_image(digest) is DocumentKind.ID_CARD
        run = ocr_service.request_run(digest, now=now, settings=ocr_service.OcrSettings.from_config(app.config))
        app.extensions["ocr_executor"].submit(lambda: None).result(timeout=600)  # one worker: FIFO
        db.session.commit()  # end this transaction: MariaDB's repeatable read would show the old row
        run = db.session.get(OcrRun, run.id)
        assert run.status == "done", run.error
        assert {f["document"] for f in run.fields.values()} == {"id_card"}
        proposed = ocr_service.proposals(run)
        assert proposed["name"]["value"] == form.name
        assert proposed["id_number"]["value"] == form.id_number
        number = form.id_number
        assert {i["field"]: i["value"] for i in proposed["id_number"]["info"]} == {
            "sex": "男" if int(number[16]) % 2 else "女",
            "birth_date": f"{number[6:10]}-{number[10:12]}-{number[12:14]}",
        }
        assert proposed["address"]["value"] == id_card_address(form)
        assert not {"signed_on", "amount", "amount_in_capitals"} & set(proposed)
        with app.test_request_context():  # the clerk's fragment: the card's facts beside the ID number
            html = render_template("entry/_ocr.html", app=a, run=run, error=None, new_shot=None,
                                   fields=FIELDS, proposals=proposed)
        assert f'data-ocr-field="id_number" data-ocr-value="{form.id_number}"' in html
        assert f'data-ocr-field="address" data-ocr-value="{id_card_address(form)}"' in html
        assert f"{number[6:10]}-{number[10:12]}-{number[12:14]}" in html and "ocr-info" in html
        assert 'data-ocr-field="signed_on"' not in html

        # A run stored under the old rules (the birth date taken as the IOU date) is never
        # proposed from, and its stored fields are put right on the next request.
        run.fields = {**run.fields, "date": {"value": "1985-06-12", "confidence": 0.97, "source": "出生"}}
        db.session.commit()
        assert "signed_on" not in ocr_service.proposals(run)
        ocr_service.request_run(digest, now=now, settings=ocr_service.OcrSettings.from_config(app.config))
        db.session.commit()
        assert "date" not in db.session.get(OcrRun, run.id).fields

        # A region cut from the card is a card too; the same bytes filed as a house photo as
        # well are ambiguous, and then nothing is proposed rather than the wrong thing.
        clerk = db.session.get(User, demo["clerk1"])
        shot = screenshots.create(a, card, rotation=0, box=(0.0, 0.0, 0.7, 0.7), label="", user=clerk,
                                  store=store, now=now)
        assert ocr_service.kind_of_image(shot.sha256) is DocumentKind.ID_CARD
        attach("house", digest, 8)
        assert ocr_service.kind_of_image(digest) is DocumentKind.OTHER
        assert ocr_service.proposals(db.session.get(OcrRun, run.id)) == {}
