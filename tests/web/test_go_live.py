"""Issue 13's "done when", as a new institution lives it, through the same forms and pages a person
uses: `flask setup` on an empty database → the new administrator creates two offices, a director,
two officers, a clerk, reviewers and a cashier, and a product with its collection items → imports a
book of 200 borrowers and loans with repayments → the loans list, the arrears, the officer's phone
plan and the audit log show all of it. On SQLite and MariaDB like every web test; each admin screen's
browser test is in tests/e2e/test_admin_*.py."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal
from io import BytesIO

import pytest
import time_machine
from openpyxl import Workbook
from sqlalchemy import func, select

from app.domain import book as dbook
from app.domain.idcard import check_digit
from app.extensions import db
from app.models import Borrower, FollowUpTask, Loan, Office, Product, Repayment, User
from app.services import devices as device_service
from tests.conftest import Auth, csrf_token

# 10:00 in Beijing: the business day is the 30th whatever the host's time zone.
MOMENT = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)
ADMIN_PASSWORD = "Qingshan-admin-2026"
LOANS = 200
DISBURSED = date(2026, 3, 10)   # 12 monthly installments: April 10 … March 10, 8 of them due by today
PAID_MONTHS = 8


@pytest.fixture()
def moment():
    with time_machine.travel(MOMENT, tick=True):
        yield


SURNAMES, GIVEN = "张王李赵刘陈杨黄周吴", "春夏秋冬山水田禾丰谷"


def _name(n: int) -> str:
    return SURNAMES[n % 10] + GIVEN[n // 10 % 10] + GIVEN[n // 100 % 10] + ("" if n < 100 else "子")


def _id_number(n: int) -> str:
    body = f"513401{1960 + n % 30}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return body + check_digit(body)


def _book(officers: tuple[str, str], offices: tuple[str, str]) -> bytes:
    """200 borrowers, each with a 12 000 yuan annuity loan at 12 %; the even ones paid 1 100 yuan on
    each of the 8 due dates so far (more than each installment), the odd ones never paid."""
    wb = Workbook()
    wb.remove(wb.active)
    rows: dict[str, list[list]] = {dbook.BORROWERS: [], dbook.LOANS: [], dbook.REPAYMENTS: []}
    for n in range(LOANS):
        who = n % 2
        idno = _id_number(n)
        rows[dbook.BORROWERS].append([idno, _name(n), f"139{n:08d}", "红星村", "城关镇", "青山县",
                                      f"红星村{n % 9 + 1}组", 104.06 + n / 10000, 30.65, officers[who]])
        number = f"OLD-{n:04d}"
        rows[dbook.LOANS].append([number, idno, "NHXY", 12000, 0.12, 12, "annuity", DISBURSED, date(2027, 3, 10),
                                  officers[who], offices[who]])
        if n % 2 == 0:
            for m in range(1, PAID_MONTHS + 1):
                rows[dbook.REPAYMENTS].append([number, date(2026, 3 + m, 10), 1100, "现金", f"R-{n:04d}-{m}"])
    for sheet, data in rows.items():
        ws = wb.create_sheet(sheet)
        ws.append(list(dbook.COLUMNS[sheet]))
        for row in data:
            ws.append(row)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _post(auth: Auth, path: str, data: dict, expect: int = 303, **kw):
    r = auth.post(path, data, **kw)
    assert r.status_code == expect, (path, r.status_code, r.get_data(as_text=True)[:2000])
    return r


def _id_of(model, **where) -> int:
    return db.session.scalar(select(model.id).filter_by(**where))


def _first_login(app, login: str, temporary: str, new: str) -> Auth:
    """A new colleague's first login: the temporary password leads only to the password change."""
    person = Auth(app.test_client())
    assert person.login(login, temporary).status_code == 302
    r = person.client.post("/password", data={"current": temporary, "new": new, "confirm": new,
                                              "csrf_token": csrf_token(person.client, "/password")})
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:2000]
    return person


def _temporary(html: str) -> str:
    return re.search(r'id="temporary-password">([^<]+)<', html).group(1)


def test_a_new_institution_sets_itself_up_imports_its_book_and_sees_it_everywhere(app, tmp_path, moment):
    # 1. flask setup on the empty database.
    secret = tmp_path / "admin-password"
    secret.write_text(ADMIN_PASSWORD + "\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=[
        "setup", "--institution", "青山县农村小额信贷服务中心", "--head-office", "青山总部",
        "--head-office-code", "HQ", "--admin-login", "boss", "--admin-name", "林海",
        "--admin-password-file", str(secret)])
    assert result.exit_code == 0, result.output

    # 2. The administrator logs in and builds the institution in the browser's forms.
    admin = Auth(app.test_client())
    assert admin.login("boss", ADMIN_PASSWORD).status_code == 302
    with app.app_context():
        hq = _id_of(Office, code="HQ")
    _post(admin, "/admin/offices/new", {"code": "XB", "name": "西部支行", "kind": "branch", "parent_id": str(hq),
                                        "address": "青山县西街1号", "lat": "", "lon": ""})
    with app.app_context():
        branch = _id_of(Office, code="XB")
    for code, name, lat in (("CG", "城关办事处", "30.6570"), ("HK", "河口办事处", "30.7012")):
        _post(admin, "/admin/offices/new", {"code": code, "name": name, "kind": "office", "parent_id": str(branch),
                                            "address": f"青山县{name}", "lat": lat, "lon": "104.0665"})
    with app.app_context():
        cg, hk = _id_of(Office, code="CG"), _id_of(Office, code="HK")

    staff = [("陈建国", "director1", branch, ["director"]), ("李明", "officer1", cg, ["officer"]),
             ("王芳", "officer2", hk, ["officer"]), ("孙丽", "clerk1", hq, ["clerk"]),
             ("周涛", "reviewer1", hq, ["reviewer1"]), ("吴敏", "reviewer2", hq, ["reviewer2"]),
             ("郑华", "special1", hq, ["special_reviewer"]), ("冯静", "cashier1", hq, ["cashier"])]
    temporary = {}
    for i, (name, login, office, roles) in enumerate(staff):
        r = _post(admin, "/admin/users/new", {"full_name": name, "username": login, "mobile": f"1381234{i:04d}",
                                              "office_id": str(office), "roles": roles}, expect=200)
        temporary[login] = _temporary(r.get_data(as_text=True))

    terms = {"code": "NHXY", "name": "农户小额信用贷款", "repayment_method": "annuity", "frequency": "monthly",
             "day_count": "act/360", "annual_rate": "12", "min_rate": "8", "max_rate": "18", "penalty_rate": "18",
             "min_amount": "1000", "max_amount": "50000", "min_term_months": "3", "max_term_months": "24",
             "holiday_shift": ""}
    r = _post(admin, "/admin/products/new", terms)
    product_page = r.headers["Location"]
    for code, name in (("survey", "借款调查表"), ("iou", "借据")):
        _post(admin, f"{product_page}/items", {"item_code": code, "item_name": name, "required_count": "1",
                                                "max_count": "3"})
    assert "借款调查表" in admin.client.get(product_page).get_data(as_text=True)

    # 3. The existing book: a dry run first, then the import on confirmation.
    token = csrf_token(admin.client, "/admin/book/")
    upload = {"workbook": (BytesIO(_book(("officer1", "officer2"), ("CG", "河口办事处"))), "台账.xlsx"),
              "csrf_token": token}
    r = admin.client.post("/admin/book/check", data=upload, content_type="multipart/form-data")
    checked = r.get_data(as_text=True)
    assert r.status_code == 200, re.sub(r"\s+", " ", checked[checked.find("<main"):])[:6000]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Loan)) == 0  # the dry run wrote nothing
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', checked).group(1)
    r = admin.client.post("/admin/book/import", data={"digest": digest, "file_name": "台账.xlsx",
                                                      "csrf_token": csrf_token(admin.client, "/admin/book/")})
    assert r.status_code == 200, r.get_data(as_text=True)[:3000]

    with app.app_context():
        loans = db.session.scalars(select(Loan)).all()
        assert len(loans) == LOANS and db.session.scalar(select(func.count()).select_from(Borrower)) == LOANS
        assert db.session.scalar(select(func.count()).select_from(Repayment)) == LOANS // 2 * PAID_MONTHS
        # The daily job has brought the arrears up to date: the unpaid half is 8 installments late.
        late = sorted(loan.contract_no for loan in loans if loan.days_past_due > 0)
        assert late == [f"OLD-{n:04d}" for n in range(1, LOANS, 2)]
        assert all(loan.days_past_due == (date(2026, 11, 30) - date(2026, 4, 10)).days for loan in loans
                   if loan.contract_no in late)
        by_officer = dict(db.session.execute(select(User.username, func.count(Loan.id)).join(Loan, Loan.officer_id == User.id)
                                             .group_by(User.username)).all())
        assert by_officer == {"officer1": LOANS // 2, "officer2": LOANS // 2}
        officer2 = db.session.scalar(select(User).where(User.username == "officer2"))
        open_tasks = db.session.scalar(select(func.count()).select_from(FollowUpTask)
                                       .where(FollowUpTask.officer_id == officer2.id, FollowUpTask.status == "open"))
        assert open_tasks > 0

    # 4. The cashier's loans list shows the imported loans, the late ones first with their arrears.
    cashier = _first_login(app, "cashier1", temporary["cashier1"], "Cashier-Feng-2026")
    listing = cashier.client.get("/loans").get_data(as_text=True)
    assert "OLD-0001" in listing and _name(1) in listing

    # The director of the branch reaches both offices' loans (reach follows the hierarchy).
    director = _first_login(app, "director1", temporary["director1"], "Director-Chen-2026")
    listing = director.client.get("/loans").get_data(as_text=True)
    assert "OLD-0001" in listing and "OLD-0003" in listing

    # 5. Officer 王芳 changes her temporary password, enrols her phone, and her plan holds the visits
    # to her imported, unpaid customers.
    officer = _first_login(app, "officer2", temporary["officer2"], "Officer-Wang-2026")
    with app.app_context():
        boss = db.session.scalar(select(User).where(User.username == "boss"))
        wang = db.session.scalar(select(User).where(User.username == "officer2"))
        code = device_service.create_enrolment_code(wang, admin=boss, now=MOMENT)
        phone = device_service.redeem(code, wang, label="王芳的手机", phone_number="", now=MOMENT)
        headers = {"Authorization": f"Bearer {phone.token}", "X-Device-Id": phone.device.uuid,
                   "X-Client-Version": app.config["CLIENT_VERSION"]}
    plan = officer.client.get("/api/v1/plan", headers=headers)
    assert plan.status_code == 200, plan.get_data(as_text=True)
    names = {t["borrower"]["name"] for t in plan.get_json()["tasks"]}
    assert names and names <= {_name(n) for n in range(1, LOANS, 2)}

    # 6. The audit log shows all of it to the administrator, each act by whom it was done.
    for action, count in (("office.created", 4), ("user.created", 9), ("product.create", 1),
                          ("book.import", 1), ("password_changed", 3)):
        page = admin.client.get(f"/admin/audit/?action={action}").get_data(as_text=True)
        assert page.count(f"<code>{action}</code>") == count, action
    imported = admin.client.get("/admin/audit/?action=book.import").get_data(as_text=True)
    assert "台账.xlsx" in imported
    with app.app_context():
        assert db.session.scalar(select(Product.version).where(Product.code == "NHXY")) >= 1
        assert sum(loan.principal for loan in db.session.scalars(select(Loan))) == Decimal("12000") * LOANS
