"""The SMS outbox screen (issue 12 item 10a): counts overall and per borrower, the list by status,
masked phone numbers, who sees whose messages, sending a failed one again through the outbox's
state machine (audited, today's only), and a borrower's messages from his page."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Borrower, SmsMessage
from app.services import jobs, sms
from app.sms import ConsoleGateway
from tests.conftest import Auth

PHONE = "13812345678"


def _messages(app, demo) -> dict[str, int]:
    """Messages of a borrower of officer1 (office 1) and of one of officer2's; ids by name."""
    today = jobs.business_today()
    with app.app_context():
        mine = db.session.scalar(select(Borrower).where(Borrower.officer_id == demo["officer1"]).order_by(Borrower.id))
        other = db.session.scalar(select(Borrower).where(Borrower.officer_id == demo["officer2"]).order_by(Borrower.id))
        rows = {
            "failed_today": SmsMessage(borrower_id=mine.id, kind="due", for_date=today, phone=PHONE, body="今日到期",
                                       status="failed", attempts=5, last_error="HTTP 503"),
            "failed_before": SmsMessage(borrower_id=mine.id, kind="before", for_date=today - timedelta(days=1),
                                        phone=PHONE, body="昨日提醒", status="failed", attempts=5, last_error="HTTP 503"),
            "sent": SmsMessage(borrower_id=mine.id, kind="before", for_date=today - timedelta(days=3), phone=PHONE,
                               body="已发送", status="sent", attempts=1),
            "queued": SmsMessage(borrower_id=mine.id, kind="overdue_1", for_date=today, phone=PHONE, body="排队",
                                 status="pending"),
            "other_failed": SmsMessage(borrower_id=other.id, kind="due", for_date=today, phone="13900000000",
                                       body="别人的", status="failed", attempts=1, last_error="bad number"),
        }
        db.session.add_all(rows.values())
        db.session.commit()
        return {name: m.id for name, m in rows.items()} | {"mine": mine.id, "other": other.id}


def _as(app, username: str) -> Auth:
    viewer = Auth(app.test_client())
    viewer.login(username)
    return viewer


def test_the_admin_sees_counts_the_list_by_status_and_masked_numbers(app, demo):
    ids = _messages(app, demo)
    admin = _as(app, "admin")
    page = admin.client.get("/outbox/").get_data(as_text=True)
    counts = page.split('id="outbox-counts"', 1)[1].split("</p>", 1)[0]
    assert 'data-status="queued">排队中 1' in counts and 'data-status="sent">已发送 1' in counts
    assert 'data-status="failed">发送失败 3' in counts
    assert "138****5678" in page and PHONE not in page and "13900000000" not in page
    assert 'id="outbox-per-borrower"' in page
    failed = admin.client.get("/outbox/?status=failed").get_data(as_text=True)
    shown = {i for name, i in ids.items() if f'id="sms-{i}"' in failed}
    assert shown == {ids["failed_today"], ids["failed_before"], ids["other_failed"]}
    # Only today's failed message offers 重新发送.
    assert f'/outbox/{ids["failed_today"]}/resend' in failed and f'/outbox/{ids["failed_before"]}/resend' not in failed
    assert admin.client.get("/outbox/?status=nonsense").status_code == 200  # unknown filter: everything


def test_officers_see_only_their_borrowers_messages_and_cannot_resend(app, demo):
    ids = _messages(app, demo)
    officer = _as(app, "officer1")
    page = officer.client.get("/outbox/").get_data(as_text=True)
    assert f'id="sms-{ids["failed_today"]}"' in page and f'id="sms-{ids["other_failed"]}"' not in page
    assert 'data-status="failed">发送失败 2' in page
    assert "/resend" not in page
    assert officer.client.get(f"/outbox/borrower/{ids['other']}").status_code == 404
    assert officer.post(f"/outbox/{ids['failed_today']}/resend").status_code == 403
    director2 = _as(app, "director2")
    assert f'id="sms-{ids["failed_today"]}"' not in director2.client.get("/outbox/").get_data(as_text=True)
    # Roles without post-loan work or administration: no outbox.
    for username in ("reviewer1", "cashier1", "clerk1"):
        assert _as(app, username).client.get("/outbox/").status_code == 403, username


def test_a_borrower_page_loads_his_messages(app, demo):
    ids = _messages(app, demo)
    officer = _as(app, "officer1")
    page = officer.client.get(f"/borrowers/{ids['mine']}").get_data(as_text=True)
    assert f'hx-get="/outbox/borrower/{ids["mine"]}"' in page
    fragment = officer.client.get(f"/outbox/borrower/{ids['mine']}", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert 'id="borrower-sms"' in text and "<html" not in text
    assert 'data-status="failed">发送失败 2' in text and "138****5678" in text
    assert f'id="sms-{ids["other_failed"]}"' not in text


def test_resending_a_failed_message_requeues_it_once_audited_and_the_sender_sends_it(app, demo):
    ids = _messages(app, demo)
    admin = _as(app, "admin")
    r = admin.post(f"/outbox/{ids['failed_before']}/resend", data={"status": "failed"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/outbox/?status=failed")
    assert "只能重新发送当天的短信" in admin.client.get("/outbox/").get_data(as_text=True)

    r = admin.post(f"/outbox/{ids['failed_today']}/resend")
    assert r.status_code == 303
    assert "已重新排队" in admin.client.get("/outbox/").get_data(as_text=True)
    again = admin.post(f"/outbox/{ids['failed_today']}/resend")  # a double click
    assert again.status_code == 303
    assert "只有发送失败的短信才能重新发送" in admin.client.get("/outbox/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(SmsMessage, ids["failed_today"]).status == "pending"
        assert db.session.get(SmsMessage, ids["failed_before"]).status == "failed"
        audits = db.session.scalars(select(AuditLog).where(AuditLog.action == "sms.resend")).all()
        assert [(a.object_id, a.detail["previous_error"]) for a in audits] == [(ids["failed_today"], "HTTP 503")]
        # The outbox's sender claims and sends it as any other pending message.
        counts = sms.send_due(datetime.now(timezone.utc), ConsoleGateway(), max_attempts=5)
        assert counts["sent"] == 2  # the requeued one and the queued one
        db.session.rollback()  # read what the sender committed on its own connection (not this snapshot)
        assert db.session.get(SmsMessage, ids["failed_today"]).status == "sent"
    assert admin.post("/outbox/999999/resend").status_code == 404
