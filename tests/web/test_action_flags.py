"""What a page offers to do follows the user's roles, through flags the views pass (scope.ACTIONS),
never a role test in a template. The roles are written out here independently of scope.py: the
links and forms each role had when the templates tested roles themselves."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Loan
from app.services import demo as demo_data

USERS = [username for username, _name, _roles, _office in demo_data.DEMO_USERS]
ROLES = {username: set(roles) for username, _name, roles, _office in demo_data.DEMO_USERS}


def _nav(html: str) -> str:
    return html.split('class="mainnav"', 1)[1].split("</nav>", 1)[0]


def _has(roles: set[str], *wanted: str) -> bool:
    return bool(roles & set(wanted))


@pytest.mark.parametrize("username", USERS)
def test_the_menu_and_home_offer_each_action_to_its_roles_only(client, auth, demo, username):
    roles = ROLES[username]
    auth.login(username)
    home = client.get("/").get_data(as_text=True)
    nav = _nav(home)
    assert ('href="/m/"' in nav) == _has(roles, "officer"), "field capture"
    assert ('href="/admin/users"' in nav) == _has(roles, "admin"), "administration"
    assert ('href="/borrowers/new"' in home) == _has(roles, "officer", "director"), "register a borrower"
    borrowers = client.get("/borrowers/")
    if borrowers.status_code == 200:
        assert ('href="/borrowers/new"' in borrowers.get_data(as_text=True)) == _has(roles, "officer", "director")


@pytest.mark.parametrize("username", USERS)
def test_the_task_list_offers_the_own_trail_to_an_officer(client, auth, demo, username):
    auth.login(username)
    response = client.get("/tasks/")
    if response.status_code != 200:
        return
    own_trail = f'href="/tasks/trail/{demo[username]}"'
    assert (own_trail in response.get_data(as_text=True)) == _has(ROLES[username], "officer")


@pytest.mark.parametrize("username", USERS)
def test_the_loan_page_offers_the_contract_and_the_money_forms_to_their_roles(app, client, auth, demo, username):
    with app.app_context():
        loan_id = db.session.scalar(select(Loan.id).order_by(Loan.id))
    roles = ROLES[username]
    auth.login(username)
    response = client.get(f"/loans/{loan_id}")
    if response.status_code != 200:
        assert not _has(roles, "cashier"), "the cashier reaches every loan"
        return
    html = response.get_data(as_text=True)
    assert (f'href="/loans/{loan_id}/note"' in html) == _has(roles, "cashier", "director", "officer"), "contract"
    assert bool(re.search(rf'action="/loans/{loan_id}/repayments"', html)) == _has(roles, "cashier"), "repayment"


def test_a_director_is_offered_the_trails_of_his_own_offices_officers_only(client, auth, demo):
    auth.login("director1")
    html = client.get("/tasks/").get_data(as_text=True)
    for officer in ("officer1", "officer2"):  # office o1, the director's
        assert f'href="/tasks/trail/{demo[officer]}"' in html
    assert f'href="/tasks/trail/{demo["officer3"]}"' not in html  # office o2
