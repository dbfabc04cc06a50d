"""Credit-bureau queries (征信): no consent, no query; each query logged and audited; the report the
bureau returned uploaded by HQ, kept content-addressed in the photo store and its key figures read.

No bureau is reachable from the system. A reviewer records the query he made (purpose, the
bureau's reference) on the application page, only if the application holds a received photo of the
borrower's signed authorisation (collection item ``bureau_consent``, 征信授权书), and attaches the
report file: a PDF with a text layer (read by pypdf) or a photo of it (read by the OCR worker,
app/services/ocr.py, off the request). ``app.domain.bureau.extract`` reads the figures out of the
text. Everything is checked before anything is written; a refused file leaves nothing behind.

Whose report it is: the name and ID number printed on the report are set against the borrower's
(``app.domain.bureau.compare_identity``). Another person's ID number refuses the file before
anything is stored; a report whose ID number cannot be read (masked, or a photo still to be read)
is kept with ``figures["_identity"] = "unchecked"``, and the box says the reviewer must check whose
report it is by eye; a differing name with the same ID number is kept with a warning. A photo's
identity is known only once OCR has read it: another person's number then marks it ``id_differs``,
shown as such (the file is already kept).
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select, update

from app.domain import bureau as rules
from app.domain import idcard
from app.domain.i18n import N_
from app.extensions import db
from app.models import Application, Borrower, CollectionItem, OcrRun, Photo, User
from app.models.credit import BureauQuery
from app.services import audit
from app.services.errors import ServiceError
from app.storage import PhotoStore, sha256_of_file
from app.storage.validation import PhotoRejected, validate_image

CONSENT_ITEM = "bureau_consent"  # 征信授权书
MAX_PDF_PAGES = 60
REF_MAX = 100
CHINA = ZoneInfo("Asia/Shanghai")


class BureauError(ServiceError):
    """A query or report refused; nothing was written."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(code, message, **params)


@dataclass(frozen=True)
class BureauSettings:
    """Read at the edge from the configuration: the largest report accepted, and OCR for images."""

    max_bytes: int = 15 * 1024 * 1024
    max_pixels: int = 40_000_000
    ocr_engine: str = "rapidocr"
    ocr_model_dir: str | None = None

    @classmethod
    def from_config(cls, config: Mapping) -> BureauSettings:
        return cls(int(config.get("MAX_PHOTO_BYTES") or cls.max_bytes), int(config.get("MAX_PHOTO_PIXELS") or cls.max_pixels),
                   (config.get("OCR_ENGINE") or "rapidocr").strip().lower(), config.get("OCR_MODEL_DIR") or None)


def consent_photo(app: Application) -> Photo | None:
    """The newest received (not purged) photo of the borrower's signed bureau authorisation."""
    return db.session.scalar(
        select(Photo).join(CollectionItem, CollectionItem.id == Photo.collection_item_id)
        .where(Photo.application_id == app.id, CollectionItem.code == CONSENT_ITEM,
               Photo.received_at.is_not(None), Photo.purged_at.is_(None))
        .order_by(Photo.id.desc()).limit(1))


def queries_of(app: Application) -> list[BureauQuery]:
    return list(db.session.scalars(select(BureauQuery).where(BureauQuery.application_id == app.id)
                                   .order_by(BureauQuery.id.desc())))


def query_of(app: Application, query_id: int) -> BureauQuery:
    """One query of this application (the application already reached through the scope)."""
    from app.services.scope import OutOfScope

    found = db.session.scalar(select(BureauQuery).where(BureauQuery.application_id == app.id,
                                                        BureauQuery.id == query_id))
    if found is None:
        raise OutOfScope("BureauQuery", query_id)
    return found


# --- the report file ---------------------------------------------------------------------------


@dataclass
class _Report:
    path: Path
    sha256: str
    size: int
    kind: str        # "pdf" or "image"
    content_type: str
    text: str | None  # a PDF's text layer; None for an image (OCR reads it)


def _too_large(size: int, limit: int) -> BureauError:
    return BureauError("report_too_large", N_("The report file is %(size)s MB; the limit is %(limit)s MB."),
                       size=round(size / 1048576, 1), limit=round(limit / 1048576, 1))


def _read_report(stream: BinaryIO, name: str, store: PhotoStore, settings: BureauSettings) -> _Report:
    """Copy the upload to a scratch file within the limit, tell PDF from image by its bytes, and
    read it; raise BureauError (the scratch file removed) for anything not a readable report."""
    fd, tmp = tempfile.mkstemp(suffix=".report", dir=store.uploads_dir)
    path = Path(tmp)
    try:
        size = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(1024 * 1024):
                size += len(chunk)
                if size > settings.max_bytes:
                    raise _too_large(size, settings.max_bytes)
                out.write(chunk)
        if size == 0:
            raise BureauError("report_empty", N_("The report file is empty; choose the file again."))
        with path.open("rb") as f:
            head = f.read(1024)
        if b"%PDF-" in head[:1024]:
            text = _pdf_text(path)
            return _Report(path, sha256_of_file(path), size, "pdf", "application/pdf", text)
        if head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n"):
            try:
                info = validate_image(path, max_bytes=settings.max_bytes, max_pixels=settings.max_pixels)
            except PhotoRejected as e:
                if e.code == "too_large":
                    raise _too_large(size, settings.max_bytes) from None
                raise BureauError("report_unreadable", N_(
                    "The report image cannot be read (damaged, cut off or too large in pixels); scan or photograph"
                    " it again.")) from None
            return _Report(path, sha256_of_file(path), size, "image", info.content_type, None)
        raise BureauError("report_type", N_(
            "A bureau report must be a PDF or a photo of it (JPEG or PNG); %(name)s is neither."), name=name[:80] or "?")
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise BureauError("report_unreadable", N_(
                "The report PDF is protected by a password; save it without the password and upload it again."))
        if len(reader.pages) > MAX_PDF_PAGES:
            raise BureauError("report_unreadable", N_("The report PDF has %(pages)s pages; a bureau report has at most"
                                                      " %(limit)s."), pages=len(reader.pages), limit=MAX_PDF_PAGES)
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    except BureauError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError,
            AssertionError, ZeroDivisionError):
        raise BureauError("report_unreadable", N_(
            "The report PDF cannot be read (damaged or not a real PDF); download it from the bureau again.")) from None
    if not text.strip():
        raise BureauError("report_unreadable", N_(
            "The report PDF has no text in it (a scan); upload a photo of its pages instead, which OCR reads."))
    return text


# --- recording a query ---------------------------------------------------------------------------


def record_query(app: Application, user: User, *, purpose: str, result_ref: str, report: BinaryIO | None,
                 report_name: str, store: PhotoStore, settings: BureauSettings, now: datetime,
                 ip: str = "") -> BureauQuery:
    """Log a bureau query made for this application, with its report when given. Refused, with
    nothing written, without the borrower's received authorisation photo ("no consent, no query"),
    for an unknown purpose, or a report file that is not a readable PDF or image within the limit."""
    if purpose not in rules.PURPOSES:
        raise BureauError("bureau_purpose", N_("Choose the purpose of the query."))
    ref = " ".join(result_ref.split())
    if len(ref) > REF_MAX:
        raise BureauError("bureau_reference", N_("The bureau's reference has at most %(limit)s characters."),
                          limit=REF_MAX)
    consent = consent_photo(app)
    if consent is None:
        raise BureauError("bureau_no_consent", N_(
            "No signed authorisation (征信授权书) of the borrower has arrived among this application's photos: no"
            " consent, no query. Ask the officer to photograph it first."))
    parsed = _read_report(report, report_name, store, settings) if report is not None else None
    if parsed is not None:
        _refuse_another_persons(parsed, app.borrower)
    query = BureauQuery(application_id=app.id, borrower_id=app.borrower_id, consent_photo_id=consent.id,
                        purpose=purpose, queried_by_id=user.id, queried_at=now, result_ref=ref, status="queried",
                        figures={})
    db.session.add(query)
    db.session.flush()
    audit.record("bureau_queried", actor_id=user.id, object_type="application", object_id=app.id, ip=ip,
                 query_id=query.id, purpose=purpose, result_ref=ref, consent_photo_id=consent.id,
                 borrower_id=app.borrower_id)
    if parsed is not None:
        _attach(query, parsed, report_name, user, store, ip)
    db.session.commit()
    if parsed is not None and parsed.kind == "image":
        _start_ocr(query, now, settings)
    return query


def attach_report(query: BureauQuery, user: User, *, report: BinaryIO, report_name: str, store: PhotoStore,
                  settings: BureauSettings, now: datetime, ip: str = "") -> BureauQuery:
    """The report of a query logged without one. Two clerks attaching one at once: the first
    keeps his, the second is refused (``bureau_report_attached_meanwhile``) and nothing of his is
    kept — his file is read and checked but never stored, his scratch copy removed."""
    if query.report_sha256:
        raise BureauError("bureau_report_attached", N_("This query already has its report; log a new query for"
                                                       " another report."))
    parsed = _read_report(report, report_name, store, settings)
    _refuse_another_persons(parsed, db.session.get(Borrower, query.borrower_id))
    # Claim the query by one conditional UPDATE before storing anything: of two uploads at once
    # exactly one finds it still without a report. (MariaDB: the second UPDATE waits on the
    # first's row lock, then reads the committed row and matches nothing; SQLite writes one at a
    # time.) The claim is the transaction's: a failure before the commit undoes it.
    claimed = db.session.execute(
        update(BureauQuery).where(BureauQuery.id == query.id, BureauQuery.report_sha256 == "")
        .values(report_sha256=parsed.sha256).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        parsed.path.unlink(missing_ok=True)
        db.session.rollback()
        raise BureauError("bureau_report_attached_meanwhile", N_(
            "Someone else attached a report to this query meanwhile; yours was not kept. Check the report now"
            " shown with the query; log a new query for another report."))
    _attach(query, parsed, report_name, user, store, ip)
    db.session.commit()
    if parsed.kind == "image":
        _start_ocr(query, now, settings)
    return query


def report_file_name(name: str) -> str:
    """The uploaded report's file name as kept and given back on download: its last part, without
    control, format (bidirectional, zero-width) or unassigned characters — a line break in it (a
    browser may send one encoded) made every download of the report a server error."""
    base = os.path.basename((name or "").replace("\\", "/"))
    kept = "".join(ch for ch in base if not unicodedata.category(ch).startswith("C")).strip()
    return kept[:200] or "report"


def _identity_check(text: str, borrower: Borrower) -> tuple[str, rules.ReportIdentity]:
    found = rules.identity(text)
    return rules.compare_identity(found, borrower.name, borrower.id_number), found


def _refuse_another_persons(parsed: _Report, borrower: Borrower | None) -> None:
    """Refuse (the scratch file removed) a report whose full ID number is not the borrower's."""
    if parsed.text is None or borrower is None:
        return
    check, found = _identity_check(parsed.text, borrower)
    if check == "id_differs":
        parsed.path.unlink(missing_ok=True)
        raise BureauError("bureau_report_other_person", N_(
            "The ID number on the bureau report (%(report_id)s, %(report_name)s) is not the borrower's (%(borrower_id)s):"
            " it is another person's report and was not kept. Check that the query was made for this borrower."),
            report_id=idcard.mask(found.id_number or ""), report_name=found.name or "?",
            borrower_id=idcard.mask(borrower.id_number))


def _identity_figures(text: str, borrower: Borrower | None) -> dict[str, object]:
    """What the box needs to warn about whose report it is (never the report's ID number)."""
    if borrower is None:
        return {"_identity": "unchecked"}
    check, found = _identity_check(text, borrower)
    out: dict[str, object] = {"_identity": check}
    if found.name is not None and check != "match":
        out["_report_person"] = found.name[:20]
    return out


def _attach(query: BureauQuery, parsed: _Report, name: str, user: User, store: PhotoStore, ip: str) -> None:
    try:
        store.put_file(parsed.sha256, parsed.path)  # stored before the row commits: a failed write records nothing
    finally:
        parsed.path.unlink(missing_ok=True)
    query.report_sha256, query.report_size = parsed.sha256, parsed.size
    query.report_name = report_file_name(name)
    if parsed.text is not None:
        figures = rules.extract(parsed.text).to_dict()
        query.figures = {**figures, "_source": "pdf", "_type": parsed.content_type,
                         **_identity_figures(parsed.text, db.session.get(Borrower, query.borrower_id))}
        query.status = "report_attached"
    else:
        query.figures = {"_source": "ocr", "_type": parsed.content_type}
        query.status = "reading"
    if not query.result_ref and query.figures.get("report_no"):
        query.result_ref = str(query.figures["report_no"])[:REF_MAX]
    audit.record("bureau_report_attached", actor_id=user.id, object_type="application", object_id=query.application_id,
                 ip=ip, query_id=query.id, size=parsed.size, kind=parsed.kind,
                 figures={k: v for k, v in query.figures.items() if not k.startswith("_")},
                 identity=query.figures.get("_identity", "reading"))


def _start_ocr(query: BureauQuery, now: datetime, settings: BureauSettings) -> None:
    from app.services import ocr

    ocr_settings = ocr.OcrSettings(settings.ocr_engine, settings.ocr_model_dir)
    if not ocr_settings.available:
        query.status = "report_attached"
        query.figures = {**query.figures, "_ocr": "off", "_identity": "unchecked"}
        db.session.commit()
        return
    ocr.request_run(query.report_sha256, now=now, settings=ocr_settings)


def refresh(query: BureauQuery) -> bool:
    """An image report whose OCR has finished: its figures read from the OCR's lines. Returns
    whether it is still being read."""
    if query.status != "reading":
        return False
    run = db.session.scalar(select(OcrRun).where(OcrRun.sha256 == query.report_sha256,
                                                 OcrRun.status.in_(("done", "failed"))).limit(1))
    if run is None:
        return True
    if run.status == "done":
        text = "\n".join(str(line[0]) for line in (run.lines or ()))
        query.figures = {**rules.extract(text).to_dict(), **{k: v for k, v in query.figures.items() if k.startswith("_")},
                         **_identity_figures(text, db.session.get(Borrower, query.borrower_id))}
    else:
        query.figures = {**query.figures, "_ocr": "failed", "_identity": "unchecked"}
    query.status = "report_attached"
    if not query.result_ref and query.figures.get("report_no"):
        query.result_ref = str(query.figures["report_no"])[:REF_MAX]
    db.session.commit()
    return False


# --- the query log (audit) ---------------------------------------------------------------------


@dataclass(frozen=True)
class LogFilter:
    date_from: date | None = None
    date_to: date | None = None
    user: str = ""

    def query_args(self) -> dict[str, str]:
        return {k: v for k, v in (("from", self.date_from.isoformat() if self.date_from else ""),
                                  ("to", self.date_to.isoformat() if self.date_to else ""), ("user", self.user)) if v}


def parse_log_filter(args: Mapping[str, str]) -> tuple[LogFilter, dict[str, tuple[str, dict]]]:
    problems: dict[str, tuple[str, dict]] = {}
    bounds: list[date | None] = []
    for name in ("from", "to"):
        raw = (args.get(name) or "").strip()
        value = None
        if raw:
            try:
                value = date.fromisoformat(raw) if len(raw) == 10 else None
            except ValueError:
                value = None
            if value is None:
                problems[name] = (N_("Enter the date as YYYY-MM-DD."), {})
        bounds.append(value)
    if bounds[0] and bounds[1] and bounds[0] > bounds[1]:
        problems["to"] = (N_("The end date cannot be before the start date."), {})
    user = (args.get("user") or "").strip()[:50]
    return LogFilter(bounds[0], bounds[1], user), problems


def _log_select(f: LogFilter) -> Select:
    q = (select(BureauQuery, User, Borrower, Application)
         .join(User, User.id == BureauQuery.queried_by_id)
         .join(Borrower, Borrower.id == BureauQuery.borrower_id)
         .join(Application, Application.id == BureauQuery.application_id))
    if f.date_from:
        q = q.where(BureauQuery.queried_at >= datetime.combine(f.date_from, time(), CHINA))
    if f.date_to:
        q = q.where(BureauQuery.queried_at < datetime.combine(f.date_to + timedelta(days=1), time(), CHINA))
    if f.user:
        q = q.where((User.username == f.user) | User.full_name.startswith(f.user, autoescape=True))
    return q.order_by(BureauQuery.queried_at.desc(), BureauQuery.id.desc())


@dataclass(frozen=True)
class LogRow:
    query: BureauQuery
    user: User
    borrower_name: str
    id_masked: str
    application: Application


def log_rows(f: LogFilter, limit: int | None = 500) -> list[LogRow]:
    q = _log_select(f)
    if limit is not None:
        q = q.limit(limit)
    return [LogRow(bq, u, b.name, idcard.mask(b.id_number), a) for bq, u, b, a in db.session.execute(q)]


CSV_HEADER = ("时间", "查询人", "账号", "查询原因", "借款人", "证件号码", "申请编号", "查询结果编号", "报告")


def log_csv(f: LogFilter, purpose_label, local_time) -> Iterator[str]:
    """The filtered log as CSV (UTF-8 with a BOM for Excel; formula-safe cells)."""
    from app.services.audit_log import safe_cell

    buf = io.StringIO()
    writer = csv.writer(buf)
    yield "\ufeff"
    writer.writerow(CSV_HEADER)
    for row in log_rows(f, limit=None):
        writer.writerow([safe_cell(v) for v in (
            local_time(row.query.queried_at), row.user.full_name, row.user.username, purpose_label(row.query.purpose),
            row.borrower_name, row.id_masked, row.application.id, row.query.result_ref,
            "有" if row.query.report_sha256 else "无")])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


def record_log_export(f: LogFilter, *, actor_id: int, ip: str = "") -> None:
    audit.record("bureau_log_exported", actor_id=actor_id, object_type="bureau_query", ip=ip, **f.query_args())
    db.session.commit()
