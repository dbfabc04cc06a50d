"""The administrator's import of an existing loan book: upload → check (a dry run) → import; the template."""
from __future__ import annotations

import io

from flask import Blueprint, current_app, request, send_file
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.http_edge import client_ip, translate_message
from app.services import book, jobs
from app.web.htmx import render_page_or_partial
from app.web.security import roles_required

bp = Blueprint("book", __name__, url_prefix="/admin/book")


def _max_bytes() -> int:
    return int(current_app.config.get("BOOK_MAX_BYTES", book.DEFAULT_MAX_BYTES))


def _folder():
    from app.extensions import photo_store

    # Beside the photo store's part files: one place for what is uploaded and not yet accepted.
    return photo_store().uploads_dir / "book"


def _errors(summary) -> list[dict]:
    return [{"sheet": e.sheet, "row": e.row, "column": e.column, "message": translate_message(e.message, dict(e.params))}
            for e in summary.errors]


def _page(**context):
    context.setdefault("summary", None)
    context.setdefault("refused", "")
    context.setdefault("errors", [])
    context.setdefault("digest", "")
    context.setdefault("imported", False)
    return render_page_or_partial("admin/book.html", "admin/book_report.html", limit_mb=_max_bytes() // 1024 // 1024,
                                  **context)


@bp.get("/")
@roles_required("admin")
def index():
    return _page()


@bp.post("/check")
@roles_required("admin")
def check():
    # The book may be larger than an ordinary upload: its own limit, told in words by the service.
    request.max_content_length = _max_bytes() + 1024 * 1024
    upload = request.files.get("workbook")
    if upload is None or not upload.filename:
        return _page(refused=_("Choose the workbook file to import.")), 422
    try:
        digest, path = book.store_upload(upload.stream, _folder(), _max_bytes())
        summary = book.run(path, user=current_user, today=clock.business_today(), now=clock.now(), dry_run=True,
                           class_days=jobs.class_days(current_app.config), max_bytes=_max_bytes(),
                           file_name=upload.filename)
    except book.BookRefused as e:
        return _page(refused=translate_message(e.message, e.params)), 422
    if summary.errors:
        path.unlink(missing_ok=True)
    return _page(summary=summary, errors=_errors(summary), digest="" if summary.errors else digest,
                 file_name=upload.filename), (422 if summary.errors else 200)


@bp.post("/import")
@roles_required("admin")
def run_import():
    digest = request.form.get("digest", "")
    file_name = request.form.get("file_name", "")[:200]
    try:
        path = book.stored_upload(_folder(), digest)
        summary = book.run(path, user=current_user, today=clock.business_today(), now=clock.now(), dry_run=False,
                           class_days=jobs.class_days(current_app.config), max_bytes=_max_bytes(), ip=client_ip(),
                           file_name=file_name)
    except book.BookRefused as e:
        return _page(refused=translate_message(e.message, e.params)), 422
    if summary.written:
        path.unlink(missing_ok=True)
        _daily()
    return _page(summary=summary, errors=_errors(summary), imported=summary.written), (200 if summary.written else 422)


def _daily() -> None:
    from app.services import job_control
    from app.services.tasks import TaskSettings

    try:
        job_control.run_leased(clock.business_today(), holder=job_control.holder_name(current_user.username),
                               now=clock.now(), class_days=jobs.class_days(current_app.config),
                               sms_settings=jobs.sms_settings(current_app.config),
                               task_settings=TaskSettings.from_config(current_app.config))
    except job_control.JobBusy:
        pass  # the running job, or its next run, brings the imported loans up to date


@bp.get("/template.xlsx")
@roles_required("admin")
def template():
    out = io.BytesIO()
    book.template(out)
    out.seek(0)
    return send_file(out, as_attachment=True, download_name="daidaitong-book-template.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
