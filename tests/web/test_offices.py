"""Offices administration (issue 13 item 2) and reach along the hierarchy (item 3): the tree,
create / edit / move / close with every refusal in Chinese naming the field and writing nothing,
and a branch director who reaches every office under his branch, never a sibling's."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Application, AuditLog, Borrower, Loan, Office, User, UserRole
from tests.conftest import Auth


def _admin(app) -> Auth:
    admin = Auth(app.test_client())
    assert admin.login("admin").status_code == 302
    return admin


def _office(app, code: str) -> Office:
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.code == code))
        db.session.expunge_all()
        return office


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _audits(app, action: str) -> list[AuditLog]:
    with app.app_context():
        return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def _branch(admin: Auth, app, code="DQ", name="东区支行") -> Office:
    hq = _office(app, "HQ")
    r = admin.post("/admin/offices/new", data={"kind": "branch", "parent_id": str(hq.id), "code": code, "name": name,
                                                "address": "东区大道8号", "lat": "30.70", "lon": "104.10"})
    assert r.status_code == 303, r.get_data(as_text=True)
    return _office(app, code)


def test_the_tree_counts_staff_applications_and_loans_and_demo_offices_have_kinds(app, demo):
    admin = _admin(app)
    page = admin.client.get("/admin/offices/").get_data(as_text=True)
    assert "总部" in page and "城关办事处" in page and "河口办事处" in page and "总行" not in page
    assert _office(app, "HQ").kind == "head_office" and _office(app, "CG").kind == "office"
    with app.app_context():
        cg = db.session.scalar(select(Office).where(Office.code == "CG"))
        staff = db.session.scalar(select(func.count()).select_from(User).where(User.office_id == cg.id))
    row = page.split(f'id="office-{cg.id}"')[1].split("</tr>")[0]
    assert f"<td>{staff}</td>" in row
    assert 'href="/admin/offices/"' in admin.client.get("/admin/settings/").get_data(as_text=True)  # the menu


def test_create_a_branch_and_an_office_under_it_audited(app, demo):
    admin = _admin(app)
    branch = _branch(admin, app)
    assert (branch.kind, branch.parent_id, branch.lat, branch.lon) == ("branch", _office(app, "HQ").id, 30.70, 104.10)
    r = admin.post("/admin/offices/new", data={"kind": "office", "parent_id": str(branch.id), "code": "XC",
                                                "name": "  新城 办事处 ", "address": "", "lat": "", "lon": ""})
    assert r.status_code == 303
    office = _office(app, "XC")
    assert (office.name, office.parent_id, office.lat, office.closed_at) == ("新城 办事处", branch.id, None, None)
    created = _audits(app, "office.created")
    assert [a.object_id for a in created] == [branch.id, office.id]
    assert created[0].actor_id == demo["admin"] and created[0].object_type == "office"
    assert created[0].detail["after"]["name"] == "东区支行" and "before" not in created[0].detail
    table = admin.client.get("/admin/offices/").get_data(as_text=True).split('id="offices"')[1]
    assert table.index("总部") < table.index("东区支行") < table.index("新城 办事处")
    assert f'id="office-{office.id}" class="depth-2"' in table and f'id="office-{branch.id}" class="depth-1"' in table


def test_every_bad_input_is_refused_in_chinese_naming_the_field_and_nothing_is_written(app, demo):
    admin = _admin(app)
    hq, cg = _office(app, "HQ"), _office(app, "CG")
    good = {"kind": "office", "parent_id": str(hq.id), "code": "NEW", "name": "新办事处", "address": "", "lat": "", "lon": ""}
    cases = [
        ({"code": "cg"}, "f-code", "机构代码", "已被其他机构使用"),
        ({"code": ""}, "f-code", "机构代码", "请输入"),
        ({"code": "含中文"}, "f-code", "机构代码", "字母"),
        ({"name": "   "}, "f-name", "机构名称", "请输入"),
        ({"lat": "91", "lon": "104"}, "f-lat", "纬度", "-90"),
        ({"lat": "30", "lon": "-181"}, "f-lon", "经度", "-180"),
        ({"lat": "北纬30", "lon": "104"}, "f-lat", "纬度", "十进制"),
        ({"lat": "30", "lon": ""}, "f-lon", "经度", "同时"),
        ({"lat": "nan", "lon": "104"}, "f-lat", "纬度", "-90"),
        ({"parent_id": ""}, "f-parent_id", "上级机构", "上级"),
        ({"parent_id": str(cg.id)}, "f-parent_id", "上级机构", "总部或支行"),
        ({"kind": "branch", "parent_id": str(cg.id)}, "f-parent_id", "上级机构", "总部之下"),
        ({"kind": "head_office"}, "f-kind", "类型", "已有总部"),
        ({"kind": "nonsense"}, "f-kind", "类型", "请选择"),
    ]
    before = (_count(app, Office), _count(app, AuditLog))
    for change, field, label, says in cases:
        r = admin.post("/admin/offices/new", data={**good, **change})
        text = r.get_data(as_text=True)
        assert r.status_code == 422, change
        assert label in text and says in text, (change, text[text.find("field-error") - 200:][:600])
        assert f'id="{field}"' in text and 'aria-invalid="true"' in text, change
    assert (_count(app, Office), _count(app, AuditLog)) == before


def test_edit_saves_only_what_changed_with_before_and_after(app, demo):
    admin = _admin(app)
    cg = _office(app, "CG")
    r = admin.post(f"/admin/offices/{cg.id}", data={"code": "CG", "name": "城关中心办事处", "address": cg.address,
                                                    "lat": repr(cg.lat), "lon": repr(cg.lon)})
    assert r.status_code == 303
    assert _office(app, "CG").name == "城关中心办事处"
    [row] = _audits(app, "office.updated")
    assert row.detail == {"before": {"name": "城关办事处"}, "after": {"name": "城关中心办事处"}}
    # A duplicate code on edit: refused, named, nothing written.
    r = admin.post(f"/admin/offices/{cg.id}", data={"code": "HK", "name": "城关", "address": "", "lat": "", "lon": ""})
    assert r.status_code == 422 and "机构代码" in r.get_data(as_text=True)
    assert _office(app, "CG").name == "城关中心办事处" and len(_audits(app, "office.updated")) == 1


def test_moves_keep_the_kind_rules_and_never_make_a_cycle(app, demo):
    admin = _admin(app)
    branch = _branch(admin, app)
    cg, hk = _office(app, "CG"), _office(app, "HK")
    r = admin.post(f"/admin/offices/{cg.id}/move", data={"parent_id": str(branch.id)})
    assert r.status_code == 303 and _office(app, "CG").parent_id == branch.id
    [moved] = _audits(app, "office.moved")
    assert moved.detail == {"before": {"parent_id": _office(app, "HQ").id}, "after": {"parent_id": branch.id}}
    refusals = [
        (branch.id, branch.id, "自身"),            # under itself
        (branch.id, cg.id, "下属"),                # a branch under its own office (a cycle; the kind rule too)
        (cg.id, hk.id, "总部或支行"),              # an office under an office
        (branch.id, 999999, "不存在"),
        (_office(app, "HQ").id, branch.id, ""),   # the head office has no move form; the service refuses
    ]
    for office_id, parent_id, says in refusals:
        r = admin.post(f"/admin/offices/{office_id}/move", data={"parent_id": str(parent_id)})
        assert r.status_code == 303, (office_id, parent_id)
        page = admin.client.get(r.headers["Location"]).get_data(as_text=True)
        assert "上级机构" in page and says in page, (office_id, parent_id)
    assert len(_audits(app, "office.moved")) == 1
    assert _office(app, "CG").parent_id == branch.id and _office(app, "DQ").parent_id == _office(app, "HQ").id


def test_closing_names_what_is_still_open_and_a_closed_office_leaves_the_pickers(app, demo):
    admin = _admin(app)
    cg = _office(app, "CG")
    r = admin.post(f"/admin/offices/{cg.id}/close")
    page = admin.client.get(r.headers["Location"]).get_data(as_text=True)
    assert r.status_code == 303 and "城关办事处 不能撤销" in page and "名在用员工" in page and "笔在办申请" in page
    assert _office(app, "CG").closed_at is None and not _audits(app, "office.closed")
    # A branch with an open office under it cannot close either.
    branch = _branch(admin, app)
    admin.post("/admin/offices/new", data={"kind": "office", "parent_id": str(branch.id), "code": "XC", "name": "新城办事处"})
    r = admin.post(f"/admin/offices/{branch.id}/close")
    assert "下属机构" in admin.client.get(r.headers["Location"]).get_data(as_text=True)
    # An empty office closes; it leaves the pickers and can no longer be changed.
    xc = _office(app, "XC")
    r = admin.post(f"/admin/offices/{xc.id}/close")
    assert r.status_code == 303 and _office(app, "XC").closed_at is not None
    [closed] = _audits(app, "office.closed")
    assert closed.object_id == xc.id and closed.detail["before"] == {"closed_at": None}
    with app.app_context():
        from app.services import offices

        assert "XC" not in [o.code for o in offices.open_offices()]
        assert "XC" not in [o.code for o in offices.possible_parents("office")]
    new_form = admin.client.get("/admin/offices/new").get_data(as_text=True)
    assert ">新城办事处 (" not in new_form and ">东区支行 (" in new_form
    r = admin.post(f"/admin/offices/{xc.id}", data={"code": "XC", "name": "改名", "address": "", "lat": "", "lon": ""})
    assert r.status_code == 303 and _office(app, "XC").name == "新城办事处"
    # The head office never closes.
    r = admin.post(f"/admin/offices/{_office(app, 'HQ').id}/close")
    assert "总部不能撤销" in admin.client.get(r.headers["Location"]).get_data(as_text=True)


def test_only_the_admin_opens_the_offices_screens(app, demo):
    for username in ("director1", "reviewer1", "auditor1"):
        other = Auth(app.test_client())
        other.login(username)
        assert other.client.get("/admin/offices/").status_code == 403
        assert other.post("/admin/offices/new", data={"code": "X", "name": "X"}).status_code == 403
    assert _count(app, Office) == 3


# --- reach along the hierarchy (app/services/scope.py director_offices) ------------------------


def _branch_director(app, admin: Auth) -> tuple[int, int]:
    """A branch 东区支行 holding 城关办事处 (not 河口), and its director; returns (branch id, user id)."""
    branch = _branch(admin, app)
    cg = _office(app, "CG")
    assert admin.post(f"/admin/offices/{cg.id}/move", data={"parent_id": str(branch.id)}).status_code == 303
    with app.app_context():
        model = db.session.scalar(select(User).where(User.username == "director1"))
        boss = User(username="branchdir", full_name="钱支行", password_hash=model.password_hash, office_id=branch.id)
        boss.role_rows = [UserRole(role="director")]
        db.session.add(boss)
        db.session.commit()
        return branch.id, boss.id


def _first(app, model, code: str):
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.code == code))
        return db.session.scalar(select(model.id).where(model.office_id == office.id).order_by(model.id))


def test_a_branch_director_reaches_every_office_under_his_branch_and_no_other(app, demo):
    _branch_director(app, _admin(app))
    boss = Auth(app.test_client())
    assert boss.login("branchdir").status_code == 302
    for model, path in ((Application, "/applications/%s"), (Borrower, "/borrowers/%s"), (Loan, "/loans/%s")):
        child, other = _first(app, model, "CG"), _first(app, model, "HK")
        assert boss.client.get(path % child).status_code == 200, model  # under his branch
        if other is not None:  # the demo's loans are all 城关's
            assert boss.client.get(path % other).status_code == 404, model  # 河口 is not under it
    with app.app_context():
        from app.services import scope

        user = db.session.get(User, demo["director1"])
        assert scope.director_offices(user) == {_office(app, "CG").id}


def test_an_office_director_does_not_reach_a_sibling_or_his_branch(app, demo):
    branch_id, _ = _branch_director(app, _admin(app))
    director = Auth(app.test_client())
    assert director.login("director1").status_code == 302  # 城关, now under the branch
    sibling = Auth(app.test_client())
    assert sibling.login("director2").status_code == 302  # 河口, still under the head office
    for model, path in ((Application, "/applications/%s"), (Borrower, "/borrowers/%s"), (Loan, "/loans/%s")):
        assert director.client.get(path % _first(app, model, "CG")).status_code == 200
        assert sibling.client.get(path % _first(app, model, "CG")).status_code == 404, model
        if _first(app, model, "HK") is not None:
            assert director.client.get(path % _first(app, model, "HK")).status_code == 404, model
    with app.app_context():
        from app.services import scope

        user = db.session.get(User, demo["director1"])
        assert branch_id not in scope.director_offices(user)


def test_a_branch_director_may_hand_a_task_to_the_officers_of_the_offices_under_him(app, demo):
    _, boss_id = _branch_director(app, _admin(app))
    with app.app_context():
        from app.services import tasks

        offered = {u.username for u in tasks.assignable_officers(db.session.get(User, boss_id))}
        assert offered == {"officer1", "officer2"}  # 城关's, under his branch; never 河口's officer3
        assert {u.username for u in tasks.assignable_officers(db.session.get(User, demo["director2"]))} == {"officer3"}


def test_an_office_page_names_its_kind_unless_the_name_says_it(app, demo):
    admin = _admin(app)
    hq, branch = _office(app, "HQ"), _branch(admin, app)
    heading = admin.client.get(f"/admin/offices/{hq.id}").get_data(as_text=True).split("<h1>")[1].split("</h1>")[0]
    assert heading.count("总部") == 1, heading  # the head office is called 总部: not "总部 总部"
    heading = admin.client.get(f"/admin/offices/{branch.id}").get_data(as_text=True).split("<h1>")[1].split("</h1>")[0]
    assert "东区支行" in heading and '<span class="muted">' in heading
