"""SMS reminders on a real database: the outbox filled set-based and idempotently, drained at most
once, through the console gateway and a real HTTP gateway talking to a local server."""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import event, func, select, update

from app.extensions import db
from app.models import Application, Borrower, Installment, Loan, SmsMessage
from app.services import sms
from app.sms import ConsoleGateway, HttpGateway, SendResult, make_gateway, parse_days, reminder_settings

ON = date(2026, 12, 12)
NOW = datetime(2026, 12, 12, 1, 0, tzinfo=timezone.utc)  # 09:00 in Beijing, the same local day
SIGN = "【贷贷通】"

TEXT_BEFORE = "【贷贷通】张三您好，您的贷款第3期应还 ¥1,234.56，到期日 2026年12月15日，请按时还款。"
TEXT_DUE = "【贷贷通】李四您好，您的贷款第5期应还 ¥1,000.00，今日（2026年12月12日）到期，请于今日还款。"
TEXT_OVERDUE_7 = ("【贷贷通】王五您好，您的贷款第4期应还 ¥1,800.00，已于 2026年12月5日 到期，现已逾期7天，"
                  "请尽快还款，以免产生罚息、影响您的信用记录。")
TEXT_OVERDUE_1 = ("【贷贷通】赵六您好，您的贷款第2期应还 ¥525.50，已于 2026年12月11日 到期，现已逾期1天，"
                  "请尽快还款，以免产生罚息、影响您的信用记录。")


@pytest.fixture(autouse=True)
def _sms_loggers_enabled(monkeypatch):
    # The migrations' logging.config.fileConfig() disables loggers that existed before it ran.
    for name in ("app.sms", "app.services.sms"):
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)


# --- data --------------------------------------------------------------------------------------


def _loan(name: str, installments: list[tuple], *, status: str = "active", phone: str | None = None,
          opt_out: bool = False, cashier_id: int) -> None:
    """A loan for the demo borrower ``name``; installments are
    (seq, due_date, principal_due, interest_due, principal_paid, interest_paid, paid_off_on)."""
    application = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == name))
    borrower = application.borrower
    if phone is not None:
        borrower.phone = phone
    borrower.sms_opt_out = opt_out
    loan = Loan(
        application_id=application.id, borrower_id=borrower.id, product_id=application.product_id,
        officer_id=application.officer_id, office_id=application.office_id, principal=Decimal("12000"),
        annual_rate=Decimal("0.096"), repayment_method="annuity", term_months=12,
        disbursed_on=date(2026, 1, 10), maturity_date=date(2027, 1, 10), channel="bank",
        reference=f"T-{application.id}", disbursed_by_id=cashier_id, status=status,
    )
    loan.installments = [
        Installment(seq=seq, due_date=due, principal_due=Decimal(p), interest_due=Decimal(i),
                    principal_paid=Decimal(pp), interest_paid=Decimal(ip), paid_off_on=off)
        for seq, due, p, i, pp, ip, off in installments
    ]
    db.session.add(loan)


def _portfolio(demo: dict, only: set[str] | None = None) -> None:
    """Loans on ON = 2026-12-12, reminders 3 days before, and 1 and 7 days overdue."""
    # The demo's own loan is dated from today's date: keep it out of these fixed-date figures.
    db.session.execute(update(Loan).values(status="closed"))
    c = demo["cashier1"]
    plan = {
        # due in 3 days: "before"; its paid predecessor is not looked at
        "张三": dict(installments=[(2, date(2026, 11, 15), "1134.56", "100.00", "1134.56", "100.00", date(2026, 11, 14)),
                                   (3, date(2026, 12, 15), "1134.56", "100.00", "0", "0", None)]),
        # due today, partly paid: the remaining 1,000.00
        "李四": dict(installments=[(5, date(2026, 12, 12), "1300.00", "200.00", "500.00", "0", None)]),
        # 7 days overdue
        "王五": dict(installments=[(4, date(2026, 12, 5), "1666.67", "133.33", "0", "0", None)]),
        # 1 day overdue; the number is written with +86 and dashes
        "赵六": dict(installments=[(2, date(2026, 12, 11), "500.00", "25.50", "0", "0", None)],
                     phone="+86 139-0812-0003"),
        # opted out of SMS
        "钱七": dict(installments=[(1, date(2026, 12, 12), "1000.00", "50.00", "0", "0", None)], opt_out=True),
        # a landline is no mobile number
        "孙八": dict(installments=[(1, date(2026, 12, 15), "1000.00", "50.00", "0", "0", None)],
                     phone="0571-88888888"),
        # paid 7 days ago: no overdue reminder; 2 days overdue and 2 days ahead: not reminder days
        "周九": dict(installments=[(1, date(2026, 12, 5), "1000.00", "50.00", "1000.00", "50.00", date(2026, 12, 4)),
                                   (2, date(2026, 12, 10), "1000.00", "50.00", "0", "0", None),
                                   (3, date(2026, 12, 14), "1000.00", "50.00", "0", "0", None)]),
        # paid in full by amounts (paid_off_on not yet filled in): nothing
        "郑十一": dict(installments=[(1, date(2026, 12, 11), "800.00", "40.00", "800.00", "40.00", None)]),
        # written off: no reminders whatever is unpaid
        "吴十": dict(installments=[(6, date(2026, 12, 12), "3000.00", "400.00", "0", "0", None)], status="written_off"),
    }
    for name, spec in plan.items():
        if only is None or name in only:
            _loan(name, cashier_id=c, **spec)
    db.session.commit()


def _enqueue(on: date = ON) -> sms.ReminderRun:
    run = sms.enqueue_reminders_report(on, days_before=3, overdue_days=(1, 7), sign=SIGN)
    db.session.commit()
    return run


def _messages() -> list[SmsMessage]:
    db.session.rollback()  # a fresh snapshot: send_due commits on its own connection
    return list(db.session.scalars(select(SmsMessage).order_by(SmsMessage.id)))


def _by_name() -> dict[str, SmsMessage]:
    db.session.rollback()
    rows = db.session.execute(
        select(Borrower.name, SmsMessage).join(Borrower, Borrower.id == SmsMessage.borrower_id)
    ).all()
    return {name: m for name, m in rows}


# --- filling the outbox ------------------------------------------------------------------------


def test_reminders_before_due_and_overdue_with_their_texts(app, demo):
    with app.app_context():
        _portfolio(demo)
        run = _enqueue()
        assert run.created == 4
        got = {name: (m.kind, m.for_date, m.phone, m.body, m.status, m.attempts, m.next_attempt_at)
               for name, m in _by_name().items()}
        assert got == {
            "张三": ("before", ON, "13908120000", TEXT_BEFORE, "pending", 0, None),
            "李四": ("due", ON, "13908120001", TEXT_DUE, "pending", 0, None),
            "王五": ("overdue_7", ON, "13908120002", TEXT_OVERDUE_7, "pending", 0, None),
            "赵六": ("overdue_1", ON, "13908120003", TEXT_OVERDUE_1, "pending", 0, None),
        }
        installment = db.session.get(Installment, _by_name()["张三"].installment_id)
        assert (installment.seq, installment.due_date) == (3, date(2026, 12, 15))


def test_running_again_creates_nothing_new_and_the_next_day_its_own(app, demo):
    with app.app_context():
        _portfolio(demo)
        assert _enqueue().created == 4
        assert _enqueue().created == 0
        assert sms.enqueue_reminders(ON, days_before=3, overdue_days="1,7", sign=SIGN) == 0
        db.session.commit()
        assert len(_messages()) == 4
        # The next day: 李四's installment, due yesterday, is now one day overdue.
        assert _enqueue(ON + timedelta(days=1)).created == 1
        newest = _messages()[-1]
        assert (newest.kind, newest.for_date, newest.phone) == ("overdue_1", ON + timedelta(days=1), "13908120001")
        assert newest.body.startswith("【贷贷通】李四您好，您的贷款第5期应还 ¥1,000.00，已于 2026年12月12日 到期，现已逾期1天")


def test_a_reminder_committed_by_a_concurrent_run_is_ignored_not_an_error(app, demo):
    """Another host commits one of the same reminders between our SELECT and our INSERT."""
    with app.app_context():
        _portfolio(demo)
        zhang = db.session.scalar(select(Installment.id).where(Installment.due_date == date(2026, 12, 15)))
        borrower = db.session.scalar(select(Borrower.id).where(Borrower.name == "张三"))
        fired = []

        def other_run_commits_first(conn, cursor, statement, parameters, context, executemany):
            if not fired and statement.lstrip().upper().startswith("INSERT") and "sms_messages" in statement:
                fired.append(True)
                with db.engine.begin() as other:
                    other.execute(SmsMessage.__table__.insert().values(
                        borrower_id=borrower, installment_id=zhang, kind="before", for_date=ON,
                        phone="13908120000", body="from the other run", status="pending", attempts=0,
                        last_error="", created_at=NOW))

        event.listen(db.engine, "before_cursor_execute", other_run_commits_first)
        try:
            assert _enqueue().created == 3
        finally:
            event.remove(db.engine, "before_cursor_execute", other_run_commits_first)
        assert fired and len(_messages()) == 4
        assert _by_name()["张三"].body == "from the other run"


def test_opted_out_and_invalid_phone_are_skipped_and_logged(app, demo, caplog):
    with app.app_context(), caplog.at_level(logging.INFO, logger="app.services.sms"):
        _portfolio(demo)
        run = _enqueue()
        assert (run.created, run.skipped_opted_out, run.skipped_bad_phone, run.skipped) == (4, 1, 1, 2)
        assert not {"钱七", "孙八"} & set(_by_name())
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        sun = db.session.scalar(select(Borrower.id).where(Borrower.name == "孙八"))
        assert any(f"borrower {sun} has no valid mobile number" in w for w in warnings)
        assert "4 queued, 2 skipped (1 opted out, 1 without a valid mobile)" in caplog.text
        # Still skipped (and counted) on the next run, never queued.
        again = _enqueue()
        assert (again.created, again.skipped) == (0, 2)


def test_paid_written_off_and_other_days_get_nothing(app, demo):
    with app.app_context():
        _portfolio(demo)
        _enqueue()
        assert not {"周九", "郑十一", "吴十"} & set(_by_name())
        assert db.session.scalar(select(func.count()).select_from(SmsMessage)) == 4


def test_reminders_exist_only_if_the_callers_transaction_commits(app, demo):
    with app.app_context():
        _portfolio(demo)
        assert sms.enqueue_reminders(ON, days_before=3, overdue_days=(1, 7), sign=SIGN) == 4
        db.session.rollback()
        assert _messages() == []
        assert sms.send_due(NOW, ConsoleGateway(), max_attempts=5)["sent"] == 0


def test_sign_comes_from_the_configuration(app, demo):
    app.config["SMS_SIGN"] = "惠农信贷"
    with app.app_context():
        _portfolio(demo, only={"张三"})
        configured = reminder_settings(app.config)  # what the daily job passes (jobs.sms_settings)
        sms.enqueue_reminders(ON, days_before=3, overdue_days=(1, 7), sign=configured.sign)
        db.session.commit()
        assert _messages()[0].body == TEXT_BEFORE.replace("【贷贷通】", "【惠农信贷】")


def test_bad_arguments_are_refused(app):
    with app.app_context():
        with pytest.raises(ValueError):
            sms.enqueue_reminders(ON, days_before=0, overdue_days=(1,), sign=SIGN)
        with pytest.raises(ValueError):
            sms.enqueue_reminders(ON, days_before=3, overdue_days=(0,), sign=SIGN)


# --- sending -----------------------------------------------------------------------------------


def test_console_gateway_marks_sent_and_logs_the_text(app, demo, caplog):
    with app.app_context(), caplog.at_level(logging.INFO, logger="app.sms"):
        _portfolio(demo)
        _enqueue()
        counts = sms.send_due(NOW, ConsoleGateway(), max_attempts=5)
        assert counts["sent"] == 4 and counts["failed"] == counts["retrying"] == 0
        for m in _messages():
            assert (m.status, m.sent_at, m.attempts, m.next_attempt_at, m.last_error) == ("sent", NOW, 1, None, "")
        assert TEXT_BEFORE in caplog.text and "13908120000" in caplog.text
        assert sms.send_due(NOW + timedelta(hours=1), ConsoleGateway(), max_attempts=5)["sent"] == 0


def test_limit_sends_the_oldest_first(app, demo):
    with app.app_context():
        _portfolio(demo)
        _enqueue()
        assert sms.send_due(NOW, ConsoleGateway(), max_attempts=5, limit=3)["sent"] == 3
        assert [m.status for m in _messages()] == ["sent", "sent", "sent", "pending"]


class Recording:
    """A gateway that records what it was asked to send and answers from a script."""

    name = "recording"

    def __init__(self, *results: SendResult) -> None:
        self.results = list(results)
        self.calls: list[tuple[str, str, str]] = []

    def send(self, phone: str, body: str, *, ref: str = "") -> SendResult:
        self.calls.append((phone, body, ref))
        return self.results.pop(0) if self.results else SendResult(ok=True, provider_id="p")


def test_a_paid_installment_cancels_its_pending_reminder(app, demo):
    with app.app_context():
        _portfolio(demo, only={"王五"})
        _enqueue()
        db.session.execute(update(Installment).values(principal_paid=Decimal("1666.67"), interest_paid=Decimal("133.33")))
        db.session.commit()
        gateway = Recording()
        counts = sms.send_due(NOW, gateway, max_attempts=5)
        assert (counts["cancelled"], counts["sent"], gateway.calls) == (1, 0, [])
        assert _messages()[0].status == "cancelled"


def test_a_reminder_not_sent_on_its_day_expires(app, demo):
    with app.app_context():
        _portfolio(demo, only={"李四"})
        _enqueue()
        gateway = Recording()
        # 2026-12-12 16:00 UTC is already 2026-12-13 in Beijing: "due today" would be false.
        counts = sms.send_due(datetime(2026, 12, 12, 16, 0, tzinfo=timezone.utc), gateway, max_attempts=5)
        assert (counts["expired"], gateway.calls) == (1, [])
        assert _messages()[0].status == "expired"


def test_a_send_interrupted_by_a_crash_is_never_repeated(app, demo):
    with app.app_context():
        _portfolio(demo, only={"张三"})
        _enqueue()
        # A process claimed it and died before recording the outcome; its lease has run out.
        db.session.execute(update(SmsMessage).values(status="sending", attempts=1,
                                                     next_attempt_at=NOW - timedelta(minutes=1)))
        db.session.commit()
        gateway = Recording()
        counts = sms.send_due(NOW, gateway, max_attempts=5)
        assert (counts["interrupted"], gateway.calls) == (1, [])
        m = _messages()[0]
        assert m.status == "failed" and m.last_error.startswith("interrupted while sending")


def test_a_claimed_message_is_never_sent_twice(app, demo):
    """A second run starts while the first is in the middle of a send: each message goes out once."""
    with app.app_context():
        _portfolio(demo)
        _enqueue()
        inner = Recording()

        class SlowGateway(Recording):
            def send(self, phone, body, *, ref=""):
                if not self.calls:  # while the first message is being sent, another host runs the job
                    with app.app_context():
                        assert sms.send_due(NOW, inner, max_attempts=5)["sent"] == 3
                return super().send(phone, body, ref=ref)

        outer = SlowGateway()
        counts = sms.send_due(NOW, outer, max_attempts=5)
        assert (counts["sent"], counts["taken"]) == (1, 3)
        sent = [c[2] for c in outer.calls + inner.calls]
        assert sorted(sent) == sorted(f"ddt-sms-{m.id}" for m in _messages())
        assert all(m.status == "sent" and m.attempts == 1 for m in _messages())


def test_a_gateway_that_raises_fails_the_message_without_leaving_it_claimed(app, demo):
    with app.app_context():
        _portfolio(demo, only={"张三"})
        _enqueue()

        class Broken:
            name = "broken"

            def send(self, phone, body, *, ref=""):
                raise RuntimeError("bug")

        assert sms.send_due(NOW, Broken(), max_attempts=5)["failed"] == 1
        m = _messages()[0]
        assert (m.status, m.last_error) == ("failed", "RuntimeError: bug")


def test_backoff_schedule():
    assert [sms.backoff_after(n) for n in range(1, 7)] == [
        timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
        timedelta(hours=2), timedelta(hours=6), timedelta(hours=6),
    ]


# --- the HTTP gateway against a local server ----------------------------------------------------


class SmsServer:
    """A stand-in SMS provider: records every request, answers from a script (status, JSON, delay)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict, float]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.requests.append({"method": self.command, "path": self.path,
                                        "headers": dict(self.headers), "raw": raw, "json": json.loads(raw)})
                status, answer, delay = (server.script.pop(0) if server.script
                                         else (200, {"code": 0, "data": {"msgid": f"m{len(server.requests)}"}}, 0))
                if delay:
                    time.sleep(delay)
                body = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up waiting (the timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/sms/send"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def sms_server(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    server = SmsServer()
    yield server
    server.close()


def _http_gateway(server: SmsServer, **overrides) -> HttpGateway:
    config = {
        "SMS_GATEWAY": "http", "SMS_HTTP_URL": server.url, "SMS_HTTP_TOKEN": "s3cret", "SMS_SIGN": SIGN,
        "SMS_HTTP_TIMEOUT": 2, "SMS_HTTP_OK_FIELD": "code", "SMS_HTTP_OK_VALUE": "0",
        "SMS_HTTP_ID_FIELD": "data.msgid", **overrides,
    }
    gateway = make_gateway(config)
    assert isinstance(gateway, HttpGateway)
    return gateway


def test_http_gateway_sends_the_configured_json(app, demo, sms_server, caplog):
    with app.app_context(), caplog.at_level(logging.INFO, logger="app.services.sms"):
        _portfolio(demo)
        _enqueue()
        counts = sms.send_due(NOW, _http_gateway(sms_server), max_attempts=5)
        assert counts["sent"] == 4
        by_phone = {r["json"]["phone"]: r for r in sms_server.requests}
        assert by_phone["13908120000"]["json"] == {"phone": "13908120000", "text": TEXT_BEFORE, "sign": "【贷贷通】"}
        assert by_phone["13908120001"]["json"] == {"phone": "13908120001", "text": TEXT_DUE, "sign": "【贷贷通】"}
        assert by_phone["13908120002"]["json"] == {"phone": "13908120002", "text": TEXT_OVERDUE_7, "sign": "【贷贷通】"}
        assert by_phone["13908120003"]["json"] == {"phone": "13908120003", "text": TEXT_OVERDUE_1, "sign": "【贷贷通】"}
        first = by_phone["13908120000"]
        assert first["method"] == "POST" and first["path"] == "/sms/send"
        assert first["headers"]["Authorization"] == "Bearer s3cret"
        assert first["headers"]["Content-Type"] == "application/json; charset=utf-8"
        # UTF-8 JSON, Chinese as it is, not \u escapes.
        assert first["raw"] == json.dumps(first["json"], ensure_ascii=False).encode()
        assert all(m.status == "sent" and m.sent_at == NOW for m in _messages())
        assert "(provider id m1)" in caplog.text


def test_http_body_template_placeholders(app, demo, sms_server):
    template = json.dumps({"mobile": "{phone}", "msg": {"content": "{content}", "signName": "{sign}"},
                           "outId": "{ref}", "tags": ["reminder", "{phone}"], "v": 2})
    with app.app_context():
        _portfolio(demo, only={"张三"})
        _enqueue()
        assert sms.send_due(NOW, _http_gateway(sms_server, SMS_HTTP_BODY=template), max_attempts=5)["sent"] == 1
        m = _messages()[0]
        assert sms_server.requests[0]["json"] == {
            "mobile": "13908120000",
            "msg": {"content": TEXT_BEFORE.removeprefix("【贷贷通】"), "signName": "【贷贷通】"},
            "outId": f"ddt-sms-{m.id}", "tags": ["reminder", "13908120000"], "v": 2,
        }


def test_http_500_is_retried_after_the_backoff(app, demo, sms_server):
    with app.app_context():
        _portfolio(demo, only={"张三"})
        _enqueue()
        gateway = _http_gateway(sms_server)
        sms_server.script = [(500, {"error": "busy"}, 0)]
        assert sms.send_due(NOW, gateway, max_attempts=5)["retrying"] == 1
        m = _messages()[0]
        assert (m.status, m.attempts, m.next_attempt_at) == ("pending", 1, NOW + timedelta(minutes=1))
        assert m.last_error.startswith("HTTP 500") and "busy" in m.last_error
        # Not before the backoff has passed.
        assert sms.send_due(NOW + timedelta(seconds=59), gateway, max_attempts=5)["sent"] == 0
        assert len(sms_server.requests) == 1
        later = NOW + timedelta(minutes=1)
        assert sms.send_due(later, gateway, max_attempts=5)["sent"] == 1
        m = _messages()[0]
        assert (m.status, m.attempts, m.sent_at, m.last_error) == ("sent", 2, later, "")
        assert len(sms_server.requests) == 2
        assert sms_server.requests[0]["json"] == sms_server.requests[1]["json"]


def test_http_400_fails_at_once(app, demo, sms_server):
    with app.app_context():
        _portfolio(demo, only={"张三"})
        _enqueue()
        sms_server.script = [(400, {"error": "bad phone"}, 0)]
        gateway = _http_gateway(sms_server)
        assert sms.send_due(NOW, gateway, max_attempts=5)["failed"] == 1
        m = _messages()[0]
        assert (m.status, m.attempts, m.next_attempt_at) == ("failed", 1, None)
        assert m.last_error.startswith("HTTP 400") and "bad phone" in m.last_error
        assert sms.send_due(NOW + timedelta(days=1), gateway, max_attempts=5)["sent"] == 0
        assert len(sms_server.requests) == 1


def test_http_timeout_is_retryable(app, demo, sms_server):
    with app.app_context():
        _portfolio(demo, only={"张三"})
        _enqueue()
        sms_server.script = [(200, {"code": 0}, 1.5)]
        assert sms.send_due(NOW, _http_gateway(sms_server, SMS_HTTP_TIMEOUT=0.3), max_attempts=5)["retrying"] == 1
        m = _messages()[0]
        assert (m.status, m.attempts, m.last_error) == ("pending", 1, "timed out after 0.3 s")


def test_provider_refusal_in_a_200_answer_fails(app, demo, sms_server):
    with app.app_context():
        _portfolio(demo, only={"张三"})
        _enqueue()
        sms_server.script = [(200, {"code": 17, "msg": "no balance"}, 0)]
        assert sms.send_due(NOW, _http_gateway(sms_server), max_attempts=5)["failed"] == 1
        m = _messages()[0]
        assert m.status == "failed" and m.last_error.startswith("provider refused: code=17")


def test_max_attempts_then_failed(app, demo, sms_server):
    with app.app_context():
        _portfolio(demo, only={"张三"})
        _enqueue()
        sms_server.script = [(503, {}, 0)] * 3
        gateway = _http_gateway(sms_server)
        at = NOW
        for attempt, wait in ((1, timedelta(minutes=1)), (2, timedelta(minutes=5))):
            assert sms.send_due(at, gateway, max_attempts=3)["retrying"] == 1
            m = _messages()[0]
            assert (m.status, m.attempts, m.next_attempt_at) == ("pending", attempt, at + wait)
            at += wait
        assert sms.send_due(at, gateway, max_attempts=3)["failed"] == 1
        m = _messages()[0]
        assert (m.status, m.attempts, m.next_attempt_at) == ("failed", 3, None)
        assert m.last_error.startswith("HTTP 503")
        assert len(sms_server.requests) == 3


def test_connection_refused_is_retryable_and_a_dead_gateway_stops_the_run(app, demo):
    with app.app_context():
        _portfolio(demo)
        _enqueue()
        dead = SmsServer()
        url = dead.url
        dead.close()  # nothing listens on that port any more
        gateway = _http_gateway(dead, SMS_HTTP_URL=url)
        counts = sms.send_due(NOW, gateway, max_attempts=5, stop_after_errors=2)
        assert (counts["retrying"], counts["not_tried"]) == (2, 2)
        statuses = [(m.status, m.attempts) for m in _messages()]
        assert statuses == [("pending", 1), ("pending", 1), ("pending", 0), ("pending", 0)]
        assert _messages()[0].last_error.startswith("connection failed")


# --- configuration -----------------------------------------------------------------------------


def test_settings_and_gateway_from_the_configuration(app):
    assert isinstance(make_gateway(app.config), ConsoleGateway)
    settings = reminder_settings(app.config)
    assert (settings.days_before, settings.overdue_days, settings.max_attempts, settings.sign) == (3, (1, 7), 5, SIGN)
    assert parse_days("7, 1,1") == (1, 7) and parse_days("") == ()
    with pytest.raises(ValueError):
        parse_days("0")
    with pytest.raises(ValueError):
        make_gateway({"SMS_GATEWAY": "http"})  # no URL
    with pytest.raises(ValueError):
        make_gateway({"SMS_GATEWAY": "carrier-pigeon"})
    with pytest.raises(ValueError):
        make_gateway({"SMS_GATEWAY": "http", "SMS_HTTP_URL": "http://x/", "SMS_HTTP_BODY": "[1]"})
