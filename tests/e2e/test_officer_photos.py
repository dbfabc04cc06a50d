"""Photos on the phone (issue 12 item 11): a thumbnail shows the whole photo, and 删除 asks first."""
from __future__ import annotations

import pytest

from tests.e2e.officer import blob_count, enrol_phone, phone_photos, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser_side]


@pytest.fixture(scope="session")
def wide_photo(tmp_path_factory):
    # A 4:3 camera photo: a square crop would cut a quarter of it away.
    return phone_photos(tmp_path_factory.mktemp("wide"), count=1, size=(2400, 1800))[0]


def _first_item_photo(page, photo) -> None:
    before = page.locator(".thumb").count()
    page.locator(".photo-item").first.locator("input[type=file]").set_input_files(str(photo))
    wait_until(page, f"document.querySelectorAll(\".thumb img[src^='blob:']\").length > {before}")


def test_thumbnail_shows_the_whole_photo_in_a_fixed_box(app, live_server, officer_phone, wide_photo):
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    page.click("#new-application")
    page.wait_for_selector("#view-draft:not([hidden])")
    _first_item_photo(page, wide_photo)
    wait_until(page, "document.querySelector('.thumb img').complete && document.querySelector('.thumb img').naturalWidth > 0")
    shown = page.evaluate("""(() => {
        const img = document.querySelector('.thumb img'), box = img.getBoundingClientRect(), s = getComputedStyle(img);
        return {fit: s.objectFit, w: box.width, h: box.height, nw: img.naturalWidth, nh: img.naturalHeight};
    })()""")
    # The box is the same for every photo; the picture inside is scaled down whole, not cut.
    assert (round(shown["w"]), round(shown["h"])) == (96, 96)
    assert shown["fit"] == "contain"
    assert shown["nw"] > shown["nh"]  # the wide photo really is wide: cropping it would lose its sides


def test_deleting_a_photo_asks_first(app, live_server, officer_phone, wide_photo):
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    page.click("#new-application")
    page.wait_for_selector("#view-draft:not([hidden])")
    _first_item_photo(page, wide_photo)
    assert blob_count(page) == 1
    asked = []

    # The officer taps 删除 by mistake and says no: the photo stays, on screen and in IndexedDB.
    def say_no(dialog):
        asked.append((dialog.type, dialog.message))
        dialog.dismiss()

    page.once("dialog", say_no)
    page.click(".thumb button")
    assert asked == [("confirm", "从手机上删除这张照片？")]
    assert page.locator(".thumb").count() == 1 and blob_count(page) == 1
    assert page.evaluate("Store.allDrafts().then(d => d[0].photos.length)") == 1

    # He means it: it goes, with its blob.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(".thumb button")
    wait_until(page, "document.querySelectorAll('.thumb').length === 0")
    wait_until(page, "Store.allDrafts().then(d => d[0].photos.length === 0)")
    assert blob_count(page) == 0


def test_changing_the_loan_type_asks_before_its_photos_are_dropped(app, live_server, officer_phone, wide_photo):
    """Another loan type asks for other documents: the photos taken for this one would be deleted."""
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    page.click("#new-application")
    page.wait_for_selector("#view-draft:not([hidden])")
    page.select_option("#product-select", label="农户联保贷款")
    wait_until(page, "document.querySelectorAll('.photo-item').length > 0")
    _first_item_photo(page, wide_photo)
    asked = []

    def say_no(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", say_no)
    page.select_option("#product-select", label="农户小额信用贷款")
    assert asked and "1 张照片" in asked[0]
    # Kept: the loan type, the photo, its blob.
    assert page.evaluate("document.querySelector('#product-select').selectedOptions[0].textContent") == "农户联保贷款"
    assert page.locator(".thumb").count() == 1 and blob_count(page) == 1
    page.once("dialog", lambda dialog: dialog.accept())
    page.select_option("#product-select", label="农户小额信用贷款")
    wait_until(page, "document.querySelectorAll('.thumb').length === 0")
    wait_until(page, "Store.allDrafts().then(d => d[0].photos.length === 0)")
    assert blob_count(page) == 0


def test_the_desk_thumbnails_are_not_cropped_either(app, live_server, desktop):
    """The same fault on the application page: the reviewer checks the whole document is there."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Application, Borrower
    from tests.e2e.conftest import login

    with app.app_context():
        application_id = db.session.scalar(select(Application.id).join(Borrower).where(Borrower.name == "张三"))
    page = desktop.new_page()
    login(page, live_server, "director1")
    page.goto(f"{live_server}/applications/{application_id}")
    page.wait_for_selector("a.thumb img")
    assert page.evaluate("getComputedStyle(document.querySelector('a.thumb img')).objectFit") == "contain"
