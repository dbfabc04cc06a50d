"""Demo data for the embedded default: two offices under HQ, staff, products, borrowers, applications.

Applications are walked through the real workflow service, so their timelines are genuine.
"""
from __future__ import annotations

import hashlib
import io
import tempfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from sqlalchemy import func, select

from app import clock
from app.domain import idcard
from app.domain.money import to_capitals
from app.domain.routing import RoutingRules
from app.domain.workflow import Event, State
from app.extensions import db
from app.models import Application, Borrower, CollectionItem, Office, Photo, Product, User, UserRole
from app.services import applications as app_service
from app.services.auth import hash_password
from app.storage import PhotoStore

DEMO_PASSWORD = "demo1234"

# username, full name, roles, office key
DEMO_USERS = (
    ("officer1", "李明", ("officer",), "o1"),
    ("officer2", "王芳", ("officer",), "o1"),
    ("officer3", "赵强", ("officer",), "o2"),
    ("director1", "陈建国", ("director",), "o1"),
    ("director2", "刘秀英", ("director",), "o2"),
    ("clerk1", "孙丽", ("clerk",), "hq"),
    ("reviewer1", "周涛", ("reviewer1",), "hq"),
    ("reviewer2", "吴敏", ("reviewer2",), "hq"),
    ("special1", "郑华", ("special_reviewer",), "hq"),
    ("cashier1", "冯静", ("cashier",), "hq"),
    ("accountant1", "钱会计", ("accountant",), "hq"),
    ("admin", "系统管理员", ("admin",), "hq"),
    ("auditor1", "何审计", ("auditor",), "hq"),
)

STANDARD_ITEMS = (
    ("survey", "借款调查表", 1, 3),
    ("iou", "借款借据", 1, 2),
    ("id_front", "身份证正面", 1, 1),
    ("id_back", "身份证反面", 1, 1),
    ("house", "房屋照片", 1, 5),
)
# The photos a household survey's photo questions take on the phone (none required by the item itself).
SURVEY_PHOTO_ITEM = (("survey_photo", "调查照片", 0, 3),)


def demo_id_number(region: str, birth: date, serial: int) -> str:
    first17 = f"{region}{birth:%Y%m%d}{serial:03d}"
    return first17 + idcard.check_digit(first17)


def is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(User))


def load(password_method: str, store: PhotoStore | None = None, now: datetime | None = None, *,
         history: bool = True) -> dict[str, User]:
    """Create the demo data in an empty database. Returns the users by username.

    With a photo store, each application gets drawn stand-in photos for its documents. With
    ``history`` (the default), the kept figures of the last 12 month openings are rebuilt too (the
    tests that do not read them leave them out: about a tenth of a test's setup).
    """
    now = now or clock.now()
    hq = Office(code="HQ", name="总部", is_hq=True, kind="head_office", address="县城人民路1号", lat=30.6586, lon=104.0648)
    o1 = Office(code="CG", name="城关办事处", parent=hq, address="城关镇东街12号", lat=30.6712, lon=104.0821)
    o2 = Office(code="HK", name="河口办事处", parent=hq, address="河口乡场镇", lat=30.5104, lon=104.2335)
    offices = {"hq": hq, "o1": o1, "o2": o2}
    db.session.add_all(offices.values())
    # The default chart of accounts, as a new institution's migration seeds it.
    from app.services import ledger

    ledger.ensure_chart()

    password_hash = hash_password(DEMO_PASSWORD, password_method)
    users: dict[str, User] = {}
    for username, full_name, roles, office in DEMO_USERS:
        user = User(username=username, full_name=full_name, password_hash=password_hash, office=offices[office])
        user.role_rows = [UserRole(role=r) for r in roles]
        users[username] = user
    db.session.add_all(users.values())

    credit = Product(
        code="XYD",
        name="农户小额信用贷款",
        repayment_method="annuity",
        frequency="monthly",
        annual_rate=Decimal("0.0960"),
        min_rate=Decimal("0.0600"),
        max_rate=Decimal("0.1500"),
        penalty_rate=Decimal("0.1440"),
        min_amount=Decimal("1000"),
        max_amount=Decimal("50000"),
        min_term_months=3,
        max_term_months=36,
        routing_rules=RoutingRules(
            l2_amount_over=Decimal("20000"),
            special_age_min=18,
            special_age_max=65,
            special_exposure_over=Decimal("80000"),
            special_past_arrears_days=30,
            max_active_loans_per_household=1,
            # Whether the officer stood at the home is judged from photo GPS once photos carry it.
            special_officer_not_on_site=False,
        ).to_dict(),
    )
    credit.items = [
        CollectionItem(code=c, name=n, required_count=r, max_count=m, sort_order=i)
        for i, (c, n, r, m) in enumerate(STANDARD_ITEMS + SURVEY_PHOTO_ITEM)
    ]
    joint = Product(
        code="LBD",
        name="农户联保贷款",
        repayment_method="bullet",
        frequency="custom",
        annual_rate=Decimal("0.0720"),
        min_rate=Decimal("0.0500"),
        max_rate=Decimal("0.1200"),
        penalty_rate=Decimal("0.1080"),
        min_amount=Decimal("5000"),
        max_amount=Decimal("100000"),
        min_term_months=3,
        max_term_months=12,
        routing_rules=RoutingRules(
            l2_amount_over=Decimal("50000"),
            special_age_min=18,
            special_age_max=60,
            special_exposure_over=Decimal("150000"),
            special_officer_not_on_site=False,
        ).to_dict(),
    )
    joint.items = [
        CollectionItem(code=c, name=n, required_count=r, max_count=m, sort_order=i)
        for i, (c, n, r, m) in enumerate(STANDARD_ITEMS + (("group", "联保协议", 1, 3),) + SURVEY_PHOTO_ITEM)
    ]
    db.session.add_all([credit, joint])
    # Guarantors and bureau queries: their signed forms as collection items, the guarantor rules.
    from app.services import guarantees

    guarantees.seed_demo([credit, joint])

    # name, birth, serial, village, officer, product, amount, term, purpose, target state
    plan = (
        ("张三", date(1978, 3, 12), 131, "城关镇红星村", "officer1", credit, "8000", 12, "购买化肥种子", State.AWAITING_DIRECTOR),
        ("李四", date(1985, 7, 2), 252, "城关镇红星村", "officer1", credit, "30000", 24, "扩建猪圈", State.AWAITING_L1),
        ("王五", date(1990, 11, 23), 373, "城关镇新华村", "officer2", joint, "20000", 10, "购买农机", State.AWAITING_ENTRY),
        ("赵六", date(1957, 1, 30), 414, "城关镇新华村", "officer2", credit, "25000", 12, "果园管护", State.AWAITING_SPECIAL),
        ("钱七", date(1982, 5, 5), 535, "河口乡石桥村", "officer3", credit, "15000", 12, "养殖肉牛", State.AWAITING_DISBURSEMENT),
        ("孙八", date(1975, 9, 9), 656, "河口乡石桥村", "officer3", joint, "12000", 6, "油菜种植", State.RETURNED),
        ("周九", date(1988, 12, 1), 777, "河口乡柳湾村", "officer3", credit, "6000", 6, "小卖部进货", State.UPLOADING),
        ("吴十", date(1969, 4, 18), 898, "城关镇红星村", "officer1", credit, "50000", 36, "大棚蔬菜", State.AWAITING_L2),
        ("郑十一", date(1993, 8, 8), 919, "城关镇新华村", "officer2", credit, "5000", 6, "购买仔猪", State.REJECTED),
        ("冯十二", date(1980, 2, 14), 123, "城关镇红星村", "officer1", credit, "10000", 12, "购买饲料", State.DISBURSED),
    )
    db.session.flush()
    applications = []
    for i, (name, birth, serial, village, officer_name, product, amount, term, purpose, target) in enumerate(plan):
        officer = users[officer_name]
        info = idcard.parse(demo_id_number("513401", birth, serial), clock.business_today(now))
        borrower = Borrower(
            name=name,
            id_number=info.number,
            sex=info.sex,
            birth_date=info.birth_date,
            phone=f"1390812{i:04d}",
            village=village,
            address=f"{village}{i + 3}组",
            household_key=f"{village}-{i}",
            office_id=officer.office_id,
            officer_id=officer.id,
        )
        has_gps = name != "赵六"  # one application without home GPS, to show the special-review rule
        app = Application(
            borrower=borrower,
            product=product,
            officer_id=officer.id,
            office_id=officer.office_id,
            amount=Decimal(amount),
            term_months=term,
            purpose=purpose,
            state=State.UPLOADING.value,
            home_lat=30.66 + i * 0.003 if has_gps else None,
            home_lon=104.09 + i * 0.002 if has_gps else None,
            home_gps_accuracy_m=12 if has_gps else None,
            captured_at=now - timedelta(days=10 - i),
            created_at=now - timedelta(days=10 - i),
        )
        db.session.add(app)
        applications.append((app, target))
    db.session.flush()
    if store is not None:
        for app, target in applications:
            # The application still uploading has only part of its photos, as on a real phone.
            _add_photos(app, store, now, complete=target != State.UPLOADING)
    # Each product's household survey (the default) and plausible answers on every application.
    from app.services import surveys

    surveys.seed_demo()
    from app.services import scoring  # each product's scorecard (the default) and the scores

    scoring.seed_demo()
    db.session.commit()

    _open_the_books(users, offices["hq"], now)
    for app, target in applications:
        if target == State.DISBURSED:
            # Approved before it was paid out, about two months ago (a disbursement is never
            # dated before its approval).
            _walk(app, State.AWAITING_DISBURSEMENT, users, now - timedelta(days=72))
            _disburse_with_a_repayment(app, users, now)
        else:
            _walk(app, target, users, now)
    from app.services import groups  # a joint-liability group of three, waiting for the director

    groups.seed_demo(users, now, (lambda a: _add_photos(a, store, now, complete=True)) if store is not None else None)
    from app.services import village_demo  # 整村授信: a village campaign, its white list, a light-path application

    village_demo.seed_demo(users, now, (lambda a: _add_photos(a, store, now, complete=True)) if store is not None else None)
    surveys.seed_demo()  # the answers of the applications made since (the group's members), scored
    db.session.commit()
    # The kept figures of the last 12 month openings, rebuilt from the demo's ledger: the
    # dashboard's trends and the reports as of a month's opening have history from the start.
    if history:
        from app.services import snapshots

        snapshots.seed_month_openings(clock.business_today(now))
        db.session.commit()
    return users


# The institution's paid-in capital, in the bank and in the cash box, before its first loan.
OPENING_CAPITAL = (("1002", Decimal("5000000.00")), ("1001", Decimal("200000.00")))
# The demo's first day: the disbursed application's review began this many days before the load.
FIRST_DAY_AGO = timedelta(days=77)


def _open_the_books(users: dict[str, User], hq: Office, now: datetime) -> None:
    """The opening entry (期初): the capital the institution starts with, Dr 1002 银行存款 and 1001 库存现金,
    Cr 4001 实收资本, dated on the demo's first day, so the balance sheet reads right from the first loan."""
    from app.domain.ledger import Line
    from app.domain.money import to_fen
    from app.services import ledger

    total = sum(amount for _code, amount in OPENING_CAPITAL)
    lines = [Line(code, debit=to_fen(amount)) for code, amount in OPENING_CAPITAL]
    lines.append(Line("4001", credit=to_fen(total)))
    ledger.post("opening", lines, value_date=clock.business_today(now - FIRST_DAY_AGO), memo="开业实收资本入账",
                office_id=hq.id, user_id=users["accountant1"].id)
    db.session.commit()


def _disburse_with_a_repayment(app: Application, users: dict[str, User], now: datetime) -> None:
    """A loan paid out about two months ago, its first installment repaid on time (under the default
    loan settings: the demo's dates are its own, whatever a deployment configures)."""
    from app.services import loans

    settings = loans.LoanSettings()
    today = clock.business_today(now)
    paid_out = today - timedelta(days=70)
    loan = loans.disburse(
        app, loans.DisbursementForm(amount=f"{app.amount:.2f}", disbursed_on=paid_out.isoformat(),
                                    channel="bank_transfer", reference="DEMO-0001"),
        users["cashier1"], today=paid_out, now=now - timedelta(days=70), settings=settings,
    )
    first = loan.installments[0]
    loans.record_repayment(
        loan, amount=f"{first.principal_due + first.interest_due:.2f}", paid_on=first.due_date.isoformat(),
        channel="cash", reference="DEMO-R-0001", user=users["cashier1"], today=first.due_date, now=now,
        expected_version=loan.version, settings=settings,
    )


def _add_photos(app: Application, store: PhotoStore, now: datetime, *, complete: bool) -> None:
    items = sorted(app.product.items, key=lambda i: i.sort_order)
    for index, item in enumerate(items):
        data = demo_photo(app.borrower.name, item.name)
        digest = hashlib.sha256(data).hexdigest()
        received = complete or index < 2
        if received and not store.exists(digest):
            with tempfile.NamedTemporaryFile(dir=store.uploads_dir, delete=False) as f:
                f.write(data)
            store.put_file(digest, Path(f.name))
        db.session.add(Photo(
            application=app, collection_item_id=item.id, sequence=1, sha256=digest, size_bytes=len(data),
            width=DEMO_PHOTO_SIZE[0], height=DEMO_PHOTO_SIZE[1], taken_at=app.captured_at,
            received_at=(app.captured_at if received else None),
        ))


DEMO_PHOTO_SIZE = (1200, 900)
_CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


@lru_cache(maxsize=128)
def demo_photo(borrower: str, item: str) -> bytes:
    """A stand-in photo: a sheet of paper with the document's name and the borrower's.
    The same two names give the same bytes, drawn once per process (the tests load the demo often)."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", DEMO_PHOTO_SIZE, (92, 84, 70))
    draw = ImageDraw.Draw(img)
    draw.rectangle([90, 60, 1110, 840], fill=(246, 243, 232))
    try:
        title = ImageFont.truetype(str(_CJK_FONT), 64)
        body = ImageFont.truetype(str(_CJK_FONT), 40)
        text = (f"{item}", f"借款人：{borrower}", "（演示照片）")
    except OSError:  # no CJK font on this machine: still a valid photo
        title = body = ImageFont.load_default()
        text = ("DEMO PHOTO", item.encode("unicode_escape").decode()[:40], "")
    draw.text((150, 120), text[0], fill=(20, 20, 20), font=title)
    for row in range(6):
        y = 300 + row * 80
        draw.line([150, y + 50, 1050, y + 50], fill=(150, 150, 150), width=2)
    draw.text((150, 300), text[1], fill=(30, 30, 120), font=body)
    draw.text((150, 700), text[2], fill=(160, 40, 40), font=body)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


def demo_entry(app: Application) -> dict[str, str]:
    """A complete, consistent data-entry record for a demo application."""
    b = app.borrower
    return {
        "name": b.name, "id_number": b.id_number, "address": b.address, "phone": b.phone,
        "household_size": "4", "land_mu": "6.5", "livestock": "生猪 3 头", "income_sources": "种植、外出务工",
        "annual_income": "60000.00", "existing_debts": "", "debts_detail": "",
        "guarantor_name": "", "guarantor_id_number": "", "guarantor_phone": "",
        "product_id": str(app.product_id), "amount": f"{app.amount:.2f}",
        "amount_in_capitals": to_capitals(app.amount), "term_months": str(app.term_months),
        "purpose": app.purpose, "signed_on": "",
    }


def _walk(app: Application, target: State, users: dict[str, User], now: datetime) -> None:
    """Drive one application through the real workflow until it reaches ``target``."""
    director = users["director1"] if app.office_id == users["director1"].office_id else users["director2"]
    # (state it must be in, event, who, comment); levels the routing rules skip are passed over.
    steps: list[tuple[State, Event, User | None, str]] = [(State.UPLOADING, Event.PHOTOS_COMPLETE, None, "")]
    if target == State.RETURNED:
        steps.append((State.AWAITING_DIRECTOR, Event.DIRECTOR_RETURN, director, "房屋照片不清楚，请补拍正面照片"))
    elif target == State.REJECTED:
        steps += [
            (State.AWAITING_DIRECTOR, Event.DIRECTOR_APPROVE, director, "同意上报"),
            (State.AWAITING_ENTRY, Event.ENTRY_COMPLETE, users["clerk1"], ""),
            (State.AWAITING_L1, Event.L1_REJECT, users["reviewer1"], "借款用途与实际经营不符"),
        ]
    else:
        steps += [
            (State.AWAITING_DIRECTOR, Event.DIRECTOR_APPROVE, director, "情况属实，同意上报"),
            (State.AWAITING_ENTRY, Event.ENTRY_COMPLETE, users["clerk1"], ""),
            (State.AWAITING_L1, Event.L1_PASS, users["reviewer1"], "资料齐全"),
            (State.AWAITING_L2, Event.L2_PASS, users["reviewer2"], "同意"),
            (State.AWAITING_SPECIAL, Event.SPECIAL_PASS, users["special1"], "已电话核实"),
        ]
    clock = now - timedelta(days=5)
    for required, event, user, comment in steps:
        if State(app.state) == target:
            return
        if State(app.state) != required:
            continue
        clock += timedelta(hours=3)
        if event == Event.ENTRY_COMPLETE:
            app.entry_data = {"values": demo_entry(app), "saved_by": user.id if user else None,
                              "saved_at": clock.isoformat(), "complete": True}
        if user is None:
            app_service.system_act(app.id, event, now=clock)
        else:
            app_service.act(app.id, event, user, now=clock, comment=comment)
        db.session.refresh(app)
    if State(app.state) != target:
        raise RuntimeError(f"demo application {app.id} reached {app.state}, not {target}")
