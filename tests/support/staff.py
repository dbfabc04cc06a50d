"""Staff the demo data does not have, for tests that need a second person."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import User, UserRole


def second_cashier() -> User:
    """A second cashier at headquarters (undo and reversal need someone other than the first)."""
    first = db.session.scalar(select(User).where(User.username == "cashier1"))
    user = User(username="cashier2", full_name="第二出纳", password_hash="x", office_id=first.office_id)
    user.role_rows = [UserRole(role="cashier")]
    db.session.add(user)
    db.session.commit()
    return user
