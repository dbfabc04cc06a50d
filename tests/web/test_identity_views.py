"""Every view of a borrower's identity data leaves a trace (who, whose, what, which object, when,
from where), and only administrators and internal auditors read that trace."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Application, Borrower, Photo, User
from app.models.audit import IdentityView
from app.services import identity_access
from app.services.identity_access import photo_kind
from tests.conftest import Auth
from tests.sync_helpers import enrol


def _as(app, username: str):
    """A fresh browser logged in as ``username``."""
    client = app.test_client()
    assert Auth(client).login(username).status_code == 302
    return client


def _views(app, **where) -> list[IdentityView]:
    # A fresh session: only what was committed counts.
    with app.app_context():
        query = select(IdentityView).order_by(IdentityView.id)
        for name, value in where.items():
            query = query.where(getattr(IdentityView, name) == value)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def _app_with_photos(app, username: str) -> tuple[int, int, list[tuple[int, str]]]:
    """An application the user reaches with received photos: (application, borrower, [(photo id, kind)])."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        query = select(Application).order_by(Application.id)
        if user.has_role("officer"):
            query = query.where(Application.officer_id == user.id)
        elif user.has_role("director"):
            query = query.where(Application.office_id == user.office_id)
        for a in db.session.scalars(query):
            received = [p for p in a.photos if p.received_at is not None]
            if received:
                return a.id, a.borrower_id, [(p.id, photo_kind(p)) for p in received]
    raise AssertionError("no application with photos")


def test_opening_a_borrower_page_records_who_whose_what_when_and_where(app, client, auth, demo):
    _, borrower_id, _ = _app_with_photos(app, "director1")
    auth.login("director1")
    assert client.get(f"/borrowers/{borrower_id}").status_code == 200
    [row] = _views(app)
    assert (row.viewer_id, row.borrower_id, row.what, row.object_type, row.object_id, row.ip) == (
        demo["director1"], borrower_id, "borrower_page", "borrower", borrower_id, "127.0.0.1")
    assert row.at is not None


def test_an_application_page_is_one_row_listing_its_photos_and_thumbnails_add_none(app, client, auth, demo):
    application_id, borrower_id, photos = _app_with_photos(app, "reviewer1")
    auth.login("reviewer1")
    html = client.get(f"/applications/{application_id}").get_data(as_text=True)
    for photo_id, _kind in photos:
        assert f"/photos/{photo_id}/thumb" in html
        assert client.get(f"/applications/{application_id}/photos/{photo_id}/thumb").status_code == 200
    [row] = _views(app)
    kinds = {k for _p, k in photos}
    assert row.what.split(",") == ["application", *[k for k in ("id_photo", "photo") if k in kinds]]
    assert (row.object_type, row.object_id, row.borrower_id) == ("application", application_id, borrower_id)


def test_opening_an_id_card_photo_or_its_original_is_recorded_as_such(app, client, auth, demo):
    application_id, borrower_id, photos = _app_with_photos(app, "clerk1")
    id_photo = next(p for p, k in photos if k == "id_photo")
    other = next(p for p, k in photos if k == "photo")
    auth.login("clerk1")
    for photo_id, size in ((id_photo, "view"), (id_photo, "original"), (other, "view")):
        assert client.get(f"/applications/{application_id}/photos/{photo_id}/{size}").status_code == 200
    rows = _views(app)
    assert [(r.what, r.object_type, r.object_id, r.borrower_id) for r in rows] == [
        ("id_photo", "photo", id_photo, borrower_id),
        ("id_photo", "photo", id_photo, borrower_id),
        ("photo", "photo", other, borrower_id),
    ]


def test_the_zip_and_the_entry_screen_are_recorded(app, client, auth, demo):
    with app.app_context():
        waiting = db.session.scalar(select(Application).where(Application.state == "awaiting_entry").order_by(Application.id))
        application_id, borrower_id = waiting.id, waiting.borrower_id
    auth.login("clerk1")
    assert client.get(f"/applications/{application_id}/entry").status_code == 200
    assert client.get(f"/applications/{application_id}/photos.zip").status_code == 200
    entry, archive = _views(app)
    # Blind entry: the form opens without the ID number, so opening it shows only the photos;
    # a draft the clerk saved shows the number he typed.
    assert entry.what.split(",") == ["entry", "id_photo", "photo"]
    assert (entry.object_type, entry.object_id, entry.borrower_id) == ("application", application_id, borrower_id)
    assert "id_photo" in archive.what and (archive.object_type, archive.object_id) == ("photos_zip", application_id)
    # With a saved draft holding the ID number, reopening the form shows it.
    with app.app_context():
        a = db.session.get(Application, application_id)
        a.entry_data = {"values": {"id_number": a.borrower.id_number}, "complete": False}
        db.session.commit()
    assert client.get(f"/applications/{application_id}/entry").status_code == 200
    assert _views(app)[-1].what.split(",") == ["entry", "id_number", "id_photo", "photo"]


def test_a_refused_view_records_nothing(app, client, auth, demo):
    with app.app_context():
        other = db.session.scalar(select(Application).where(Application.officer_id != demo["officer1"]))
        other_id, other_borrower = other.id, other.borrower_id
    auth.login("officer1")
    assert client.get(f"/borrowers/{other_borrower}").status_code == 404
    assert client.get(f"/applications/{other_id}").status_code == 404
    cashier = _as(app, "cashier1")  # no photos for the cashier
    photo_id = _app_with_photos(app, "cashier1")[2][0][0]
    assert cashier.get(f"/applications/{other_id}/photos/{photo_id}/view").status_code == 404
    assert _views(app) == []


def test_full_id_numbers_sent_to_a_phone_are_recorded_once_per_phone(app, client, demo):
    headers = enrol(app, "officer1")
    with app.app_context():
        own = set(db.session.scalars(select(Borrower.id).where(Borrower.officer_id == demo["officer1"])))
    assert own
    for _ in range(2):
        body = client.get("/api/v1/bootstrap", headers=headers).get_json()
        assert {b["id_number"] for b in body["borrowers"]}  # the phone needs them offline
    rows = _views(app, what="id_number")
    assert sorted(r.borrower_id for r in rows) == sorted(own)  # the second download added nothing
    assert {(r.viewer_id, r.object_type) for r in rows} == {(demo["officer1"], "device")}
    # A replacement phone receiving them is a new disclosure.
    client.get("/api/v1/bootstrap", headers=enrol(app, "officer1"))
    assert len(_views(app, what="id_number")) == 2 * len(own)


def test_admin_and_auditor_read_the_trace_on_the_borrower_page_others_do_not(app, client, auth, demo):
    application_id, borrower_id, _ = _app_with_photos(app, "director1")
    auth.login("director1")
    client.get(f"/applications/{application_id}")
    for username in ("admin", "auditor1"):
        html = _as(app, username).get(f"/borrowers/{borrower_id}").get_data(as_text=True)
        assert 'id="identity-views"' in html
        assert "陈建国" in html and "申请页面" in html  # who (director1) and what, in Chinese
    for username in ("director1", "officer1", "reviewer1", "clerk1", "cashier1"):
        other = _as(app, username)
        response = other.get(f"/borrowers/{borrower_id}")
        if response.status_code == 200:
            assert 'id="identity-views"' not in response.get_data(as_text=True), username
        assert other.get(f"/borrowers/{borrower_id}/views").status_code == 404, username


def test_the_trace_is_paged_newest_first(app, client, auth, demo):
    _, borrower_id, _ = _app_with_photos(app, "director1")
    with app.app_context():
        db.session.add_all(
            IdentityView(viewer_id=demo["reviewer1"], borrower_id=borrower_id, what="id_photo", object_type="photo",
                         object_id=n, ip="10.0.0.1", at=identity_access.utcnow() - timedelta(minutes=100 - n))
            for n in range(45)
        )
        db.session.commit()
    auth.login("auditor1")
    html = client.get(f"/borrowers/{borrower_id}").get_data(as_text=True)
    # 45 rows, 20 a page (the page is written before its own view is recorded)...
    assert html.count('class="identity-view"') == 20 and "第 1 / 3 页" in html
    # ... then 46 with the auditor's own, newest first: the oldest six on page 3.
    part = client.get(f"/borrowers/{borrower_id}/views?page=3", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in part and part.count('class="identity-view"') == 6
    assert "#0<" in part  # the oldest row is on the last page


def test_photo_kind_follows_the_collection_item(app, demo):
    with app.app_context():
        kinds = {(p.item.code, photo_kind(p)) for p in db.session.scalars(select(Photo))}
    assert ("id_front", "id_photo") in kinds and ("id_back", "id_photo") in kinds
    assert ("survey", "photo") in kinds and ("iou", "photo") in kinds


def test_a_returned_application_sent_to_a_phone_records_its_borrowers_full_id_number(app, client, demo):
    with app.app_context():
        a = db.session.scalar(select(Application).where(Application.officer_id == demo["officer1"]).order_by(Application.id))
        a.state = "returned"  # as a director's return leaves it
        db.session.commit()
        borrower_id = a.borrower_id
    headers = enrol(app, "officer1")
    todo = client.get("/api/v1/returned", headers=headers).get_json()["applications"]
    assert [t["borrower"]["id_number"] for t in todo]
    rows = _views(app, what="id_number", borrower_id=borrower_id)
    assert [(r.viewer_id, r.object_type) for r in rows] == [(demo["officer1"], "device")]
    client.get("/api/v1/returned", headers=headers)  # asked again on every sync: nothing new
    assert len(_views(app, what="id_number", borrower_id=borrower_id)) == 1
