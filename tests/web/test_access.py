"""Every route, for every role and for an anonymous visitor: the right answer, never a leak."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app import create_app
from app.config import Config
from app.extensions import db
from app.models import ROLES, Application, Borrower, Device, Loan, User
from app.services.scope import scoped
from app.services.demo import DEMO_USERS

ROLE_OF = {username: roles for username, _name, roles, _office in DEMO_USERS}
USERNAMES = sorted(ROLE_OF)


def _routes():
    app = create_app(Config())
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        rules.append((rule.rule, rule.endpoint, sorted(rule.methods - {"HEAD", "OPTIONS"}), view))
    return rules


ROUTES = _routes()
PUBLIC = {endpoint for _r, endpoint, _m, view in ROUTES if getattr(view, "public", False)}
# /api/v1 calls authenticate by the phone's device token instead of the session.
DEVICE = {endpoint for _r, endpoint, _m, view in ROUTES if getattr(view, "device_auth", False)}
GET_ROUTES = [(r, e) for r, e, m, _v in ROUTES if "GET" in m and e not in DEVICE]
POST_ROUTES = [(r, e) for r, e, m, _v in ROUTES if "POST" in m and e not in DEVICE]
DEVICE_ROUTES = [(r, e, sorted(m)[0] if m else "HEAD") for r, e, m, _v in ROUTES if e in DEVICE]


def test_every_route_is_public_or_declares_who_may_use_it():
    for rule, endpoint, _methods, view in ROUTES:
        assert endpoint in PUBLIC or endpoint in DEVICE or getattr(view, "allowed_roles", None), f"{rule} declares no roles"


def test_only_the_expected_routes_are_public():
    assert PUBLIC == {
        "auth.login", "main.set_language", "ops.healthz", "ops.readyz", "ops.metrics",
        "pwa.service_worker", "pwa.manifest", "pwa.offline", "pwa.favicon",
        "mobile.shell", "api_v1.version",
        "android.page", "android.download", "api_v1.android_release",  # a phone gets the app before it is enrolled
    }
    assert {e for _r, e, _m in DEVICE_ROUTES} == {
        "api_v1.device", "api_v1.bootstrap", "api_v1.post_manifest", "api_v1.application_status",
        "api_v1.upload_head", "api_v1.upload_patch", "api_v1.resubmit", "api_v1.returned",
        "api_v1.plan", "api_v1.task_report", "api_v1.track", "api_v1.notifications", "api_v1.notifications_read",
        "api_v1.field_collection", "api_v1.field_collection_status",
        "api_v1.campaigns", "api_v1.campaign_household",  # village campaigns (app/services/villages.py)
    }


@pytest.mark.parametrize("rule,endpoint,method", DEVICE_ROUTES)
def test_device_routes_refuse_calls_without_a_device_token(app, client, auth, demo, rule, endpoint, method):
    auth.login("officer1")  # a browser session is not enough
    url = rule.replace("<photo_uuid>", "6f1c0e5e-1111-4222-8333-444455556666")
    response = client.open(url, method=method)
    assert response.status_code == 401
    if method != "HEAD":
        assert response.get_json()["error"] == "unknown_device"


def _url(app, rule: str, username: str) -> str | None:
    """Fill URL parameters with an object inside this user's scope (None: he has none)."""
    if rule.startswith(("/android", "/api/v1/android/")):
        _android_release(app)  # the app's release and download answer once a version is published
        return rule.replace("<int:version_code>", "1")
    if "<" not in rule:
        return rule
    if rule.startswith("/tasks/photos/") or rule.endswith("/receipt"):
        return None  # exist only after a visit / a receipt upload: tests/web/test_tasks_web.py and test_loans_web.py
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        query = select(Application).order_by(Application.id)
        if user.has_role("officer"):
            query = query.where(Application.officer_id == user.id)
        elif user.has_role("director"):
            query = query.where(Application.office_id == user.office_id)
        # The data-entry screen opens only on an application waiting for entry.
        waiting = query.where(Application.state == "awaiting_entry") if rule.startswith("/applications/<int:application_id>/entry") else query
        application = db.session.scalars(waiting).first() or db.session.scalars(query).first()
        device = db.session.scalar(select(Device).order_by(Device.id))
        if device is None and "<int:device_id>" in rule:
            # The demo enrols no phone: a page about one needs one (an officer's, as enrolment makes).
            officer = db.session.scalar(select(User).where(User.username == "officer1"))
            device = Device(user_id=officer.id, label="test phone", token_hash="0" * 64)
            db.session.add(device)
            db.session.commit()
        photo = next(p for p in application.photos if p.received_at is not None)
        ids = {
            "application_id": application.id, "borrower_id": application.borrower_id, "user_id": user.id,
            "device_id": device.id if device else 0, "photo_id": photo.id,
            "product_id": application.product_id, "item_id": photo.collection_item_id,
        }
        ids["office_id"] = user.office_id
        if "<int:holiday_id>" in rule:
            from datetime import date

            from app.models import Holiday

            holiday = db.session.scalar(select(Holiday)) or Holiday(day=date(2026, 10, 1), name="国庆节")
            db.session.add(holiday)
            db.session.commit()
            ids["holiday_id"] = holiday.id
        if "<int:screenshot_id>" in rule or "<int:run_id>" in rule:
            ids |= _screenshot_and_ocr_run(application, photo)
        if "<int:task_id>" in rule:
            from datetime import date

            from app.models import FollowUpTask

            loan = db.session.scalars(select(Loan).order_by(Loan.id)).first()
            task = FollowUpTask(loan_id=loan.id, officer_id=loan.officer_id, kind="revisit", due_date=date.today())
            db.session.add(task)
            db.session.commit()
            ids["task_id"] = task.id
        if "<int:message_id>" in rule:
            from app.models import SmsMessage
            from app.services.jobs import business_today

            message = SmsMessage(borrower_id=application.borrower_id, kind="due", for_date=business_today(),
                                 phone="13800000000", body="…", status="failed", last_error="test")
            db.session.add(message)
            db.session.commit()
            ids["message_id"] = message.id
        if "<int:request_id>" in rule:  # a restructuring request on a loan the user reaches
            from app.models.restructuring import LoanRestructuring

            loan = db.session.scalars(scoped(user, Loan).order_by(Loan.id)).first()
            if loan is None:
                return None
            row = LoanRestructuring(loan_id=loan.id, kind="extension", reason="harvest_failure", note="冰雹",
                                    term_months=12, method=loan.repayment_method, requested_by_id=loan.officer_id)
            db.session.add(row)
            db.session.commit()
            ids["request_id"] = row.id
        if "<int:query_id>" in rule:  # a credit-bureau query with its report, on the application opened
            ids["query_id"] = _bureau_query(application)
        if "<group_key>" in rule:  # a joint-liability group in the user's reach (the demo has one)
            from app.models.credit import LiabilityGroup

            group = db.session.scalars(scoped(user, LiabilityGroup).order_by(LiabilityGroup.id)).first()
            if group is None:
                return None
            rule = rule.replace("<group_key>", group.uuid)
        if "<int:village_id>" in rule or "<int:campaign_id>" in rule:  # a village in the user's reach (the demo has one)
            from app.services import villages

            reached = villages.villages(user)
            if not reached:
                return None
            ids["village_id"] = reached[0].id
            campaigns = villages.campaigns_of(reached[0])
            ids["campaign_id"] = campaigns[0].id if campaigns else 0
        if "<int:loan_id>" in rule:
            loan = db.session.scalars(scoped(user, Loan).order_by(Loan.id)).first()
            if loan is None:
                return None  # no loan in this user's scope: nothing of his to open
            ids |= {"loan_id": loan.id, "repayment_id": loan.repayments[0].id}
    for name, value in ids.items():
        rule = rule.replace(f"<int:{name}>", str(value))
    rule = rule.replace("<kind>", "thumb").replace("<name>", "par").replace("<fmt>", "csv")  # /reports/<name>: a registered report
    assert "<" not in rule, rule
    return rule


def _android_release(app) -> None:
    from pathlib import Path

    from app import clock
    from app.services import android_releases

    with app.app_context():
        if android_releases.current() is None:
            apk = Path(__file__).resolve().parents[1] / "vectors" / "android" / "officer-1.apk"
            android_releases.publish(apk, files=android_releases.files_from(app.config),
                                     package=app.config["ANDROID_PACKAGE"], now=clock.now())


def _bureau_query(application) -> int:
    """A bureau query with a stored PDF report on this application, as a reviewer logs it."""
    import tempfile
    from pathlib import Path

    from app.extensions import photo_store
    from app.models.credit import BureauQuery
    from app.storage import sha256_of_file
    from tests.support.bureau_report import report_text, text_pdf

    store = photo_store()
    with tempfile.NamedTemporaryFile(dir=store.uploads_dir, delete=False) as f:
        f.write(text_pdf(report_text()))
    digest = sha256_of_file(Path(f.name))
    store.put_file(digest, Path(f.name))
    query = BureauQuery(application_id=application.id, borrower_id=application.borrower_id,
                        consent_photo_id=application.photos[0].id, purpose="loan_approval",
                        queried_by_id=application.officer_id, result_ref="R-1", report_sha256=digest,
                        report_name="report.pdf", report_size=1, figures={"open_loans": 1, "_type": "application/pdf"},
                        status="report_attached")
    db.session.add(query)
    db.session.commit()
    return query.id


def _screenshot_and_ocr_run(application, photo) -> dict:
    """A screenshot of the photo and a finished OCR run of it, as the clerk's screen makes them."""
    from app.models import OcrRun, Screenshot

    run = db.session.scalar(select(OcrRun).where(OcrRun.sha256 == photo.sha256)) or OcrRun(
        sha256=photo.sha256, engine="rapidocr", status="done", lines=[], fields={})
    shot = Screenshot(application=application, photo=photo, sha256=photo.sha256, size_bytes=photo.size_bytes,
                      width=10, height=10, box=[0, 0, 10, 10], created_by_id=application.officer_id)
    db.session.add_all([shot, run])
    db.session.commit()
    return {"screenshot_id": shot.id, "run_id": run.id}


@pytest.mark.parametrize("rule,endpoint", GET_ROUTES)
def test_anonymous_get(client, demo, rule, endpoint, app):
    # Anyone not logged in is sent to the login page before any object is looked up.
    response = client.get(_url(app, rule, "admin") or re.sub(r"<int:\w+>", "1", rule))
    if endpoint == "ops.metrics":
        assert response.status_code == 404  # open to no one without METRICS_TOKEN (tests/web/test_ops.py)
    elif endpoint in PUBLIC:
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


# Images that are the app's own, not anybody's data: every role may fetch them.
APP_IMAGES = {"pwa.favicon"}


# Least privilege, written out independently of app.services.scope: what each role's work needs.
MAY = {
    "officer": {"borrowers", "applications", "photos", "loans", "tasks"},
    "director": {"borrowers", "applications", "photos", "loans", "tasks"},
    "clerk": {"borrowers", "applications", "photos"},
    "reviewer1": {"borrowers", "applications", "photos", "loans"},
    "reviewer2": {"borrowers", "applications", "photos", "loans"},
    "special_reviewer": {"borrowers", "applications", "photos", "loans"},
    "cashier": {"borrowers", "applications", "loans", "ledger"},
    "accountant": {"borrowers", "loans", "ledger"},
    "admin": {"borrowers", "view_log", "audit_log"},
    "auditor": {"borrowers", "applications", "loans", "tasks", "view_log", "audit_log", "ledger"},
}
# The only pages that show a full ID number, and to whom: the clerk keys it in; the contract the
# borrower signs carries it (printed by the cashier, the director or the officer). Every other
# page, for every role, shows it masked.
FULL_ID_PAGES = {"entry.form": {"clerk"}, "loans.note": {"cashier", "director", "officer"}}


def _needs(rule: str, endpoint: str) -> str | None:
    """The kind of data a route shows, beyond the role its decorator asks for."""
    if endpoint in {"applications.photo", "applications.photos_zip", "entry.screenshot_image"}:
        return "photos"
    if endpoint == "borrowers.views":
        return "view_log"
    if rule.startswith("/ledger") and endpoint != "ledger.accounts":  # the chart: also the admin's (edit_chart)
        return "ledger"
    if "<int:loan_id>" in rule or rule.startswith("/reports"):  # reports are loans' figures
        return "loans"
    if "<int:application_id>" in rule or "<group_key>" in rule:
        return "applications"
    if "<int:borrower_id>" in rule:
        return "borrowers"
    return None


def test_the_least_privilege_table_names_every_role():
    assert set(MAY) == set(ROLES)


@pytest.mark.parametrize("username", USERNAMES)
def test_every_get_route_for_every_role(app, client, auth, demo, username):
    with app.app_context():
        full_ids = set(db.session.scalars(select(Borrower.id_number)))
    roles = set(ROLE_OF[username])
    grants = set().union(*(MAY[r] for r in roles))
    assert auth.login(username).status_code == 302
    for rule, endpoint in GET_ROUTES:
        if endpoint == "auth.login":
            continue  # a logged-in user is sent home from the login page
        view = app.view_functions[endpoint]
        allowed = endpoint in PUBLIC or roles & set(view.allowed_roles)
        url = _url(app, rule, username)
        if url is None:
            continue  # e.g. an officer with no loan: the scope tests cover other people's objects
        response = client.get(url)
        needs = _needs(rule, endpoint)
        # A kind of data the role is not granted answers like an object outside scope.
        expected = 403 if not allowed else 404 if needs and needs not in grants else 200
        if endpoint == "ops.metrics":
            expected = 404  # no login opens it: only METRICS_TOKEN, unset here (tests/web/test_ops.py)
        assert response.status_code == expected, f"{username} GET {rule}: {response.status_code}"
        if "photos" not in grants and endpoint not in APP_IMAGES:
            assert not response.mimetype.startswith("image/") and response.mimetype != "application/zip", f"{username} {rule}"
        if not roles & FULL_ID_PAGES.get(endpoint, set()):
            body = response.get_data(as_text=True) if response.mimetype.startswith("text/") else ""
            assert not any(n in body for n in full_ids), f"{username} sees a full ID number on {rule}"
        if "photos" not in grants and response.status_code == 200 and response.mimetype == "text/html":
            assert "/photos/" not in response.get_data(as_text=True), f"{username} {rule} links a photo"


def test_admin_opens_a_borrower_page_with_the_number_masked_and_no_photo(app, client, auth, demo):
    with app.app_context():
        application = db.session.scalars(select(Application).order_by(Application.id)).first()
        photo_ids = [p.id for p in application.photos if p.received_at is not None]
        number, borrower_id, application_id = application.borrower.id_number, application.borrower_id, application.id
    auth.login("admin")
    html = client.get(f"/borrowers/{borrower_id}").get_data(as_text=True)
    assert number[:6] + "********" + number[-4:] in html and number not in html
    assert "/photos/" not in html and f"/applications/{application_id}" not in html
    assert client.get(f"/applications/{application_id}").status_code == 404
    assert client.get(f"/applications/{application_id}/photos.zip").status_code == 404
    for photo_id in photo_ids:
        for size in ("thumb", "view", "original"):
            assert client.get(f"/applications/{application_id}/photos/{photo_id}/{size}").status_code == 404


@pytest.mark.parametrize("username,shown,hidden", [
    ("admin", ["/borrowers/"], ["/applications/", "/loans", "/tasks/", "/ledger/", "/collections/"]),
    ("cashier1", ["/applications/", "/borrowers/", "/loans", "/collections/"], ["/tasks/"]),
    ("auditor1", ["/applications/", "/borrowers/", "/loans", "/tasks/", "/ledger/"], []),
    ("accountant1", ["/borrowers/", "/loans", "/ledger/"], ["/applications/", "/tasks/"]),
])
def test_the_menu_offers_only_what_the_role_is_granted(client, auth, demo, username, shown, hidden):
    auth.login(username)
    nav = client.get("/").get_data(as_text=True).split('class="mainnav"', 1)[1].split("</nav>", 1)[0]
    for path in shown:
        assert f'href="{path}"' in nav, f"{username}'s menu lacks {path}"
    for path in hidden:
        assert f'href="{path}"' not in nav, f"{username}'s menu offers {path}, which answers 404 for him"


@pytest.mark.parametrize("rule,endpoint", POST_ROUTES)
def test_every_post_route_refuses_a_missing_csrf_token(app, client, auth, demo, rule, endpoint):
    auth.login("admin")
    with app.app_context():
        before = _state_snapshot()
    # The admin reaches no loan: a loan's URL is built from the auditor's reach (CSRF is checked first).
    response = client.post(_url(app, rule, "admin") or _url(app, rule, "auditor1"), data={"event": "withdraw", "version": "1", "lang": "en", "enabled": "0"})
    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)
    with app.app_context():
        assert _state_snapshot() == before


def _state_snapshot():
    from app.models import AuditLog, Borrower, Transition

    return tuple(
        db.session.scalar(select(db.func.count()).select_from(m)) for m in (Application, Transition, AuditLog, Borrower)
    ) + tuple(db.session.scalars(select(User.is_enabled).order_by(User.id)).all())
