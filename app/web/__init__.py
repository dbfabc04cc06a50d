"""Web blueprints: thin views that parse input, call a service and render."""
from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    from app.web import (
        admin,
        applications,
        auth,
        borrowers,
        daily,
        entry,
        errors,
        loans,
        main,
        mobile,
        pwa,
        security,
        tasks,
        template_helpers,
    )

    from app.web import ops

    ops.init_app(app)  # /healthz, /readyz, /metrics: before the daily job's first-request hook
    security.init_app(app)
    daily.init_app(app)
    template_helpers.init_app(app)
    errors.init_app(app)
    from app.web import audit_log, jobs, outbox, settings

    for module in (auth, main, applications, entry, loans, tasks, borrowers, admin, pwa, mobile, outbox, jobs, settings, audit_log):
        app.register_blueprint(module.bp)
    from app.web import staff
    app.register_blueprint(staff.bp)
    from app.web import offices
    app.register_blueprint(offices.bp)
    from app.web import products_admin
    app.register_blueprint(products_admin.bp)
    from app.web import surveys
    app.register_blueprint(surveys.bp)
    from app.web import scorecards
    app.register_blueprint(scorecards.bp)
    from app.web import book
    app.register_blueprint(book.bp)
    from app.web import reports
    app.register_blueprint(reports.bp)
    from app.web import search
    app.register_blueprint(search.bp)
    from app.web import android
    app.register_blueprint(android.bp)
    from app.web import phones
    app.register_blueprint(phones.bp)
    from app.web import ledger
    app.register_blueprint(ledger.bp)
    from app.web import field_collections
    app.register_blueprint(field_collections.bp)
    from app.web import loan_books
    app.register_blueprint(loan_books.bp)
    from app.web import restructuring
    app.register_blueprint(restructuring.bp)
    from app.web import bureau, guarantees
    app.register_blueprint(guarantees.bp)
    app.register_blueprint(bureau.bp)
    from app.web import groups

    app.register_blueprint(groups.bp)
    from app.web import villages
    app.register_blueprint(villages.bp)
    from app.web import product_rules
    app.register_blueprint(product_rules.bp)
