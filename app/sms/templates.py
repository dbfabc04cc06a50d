"""The reminder texts borrowers receive (还款提醒), in Chinese whatever language the staff UI uses.

Pure Python: no Flask, no database. The text carries the sign (签名, e.g. 【贷贷通】) first, as
Chinese SMS rules require and as the borrower reads it.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.domain.money import format_money

__all__ = ["DEFAULT_SIGN", "KIND_BEFORE", "KIND_DUE", "KIND_STAFF_ESCALATION", "OVERDUE_PREFIX", "chinese_date",
           "escalation_text", "group_late_text", "overdue_kind", "reminder_text", "sign_text"]

DEFAULT_SIGN = "【贷贷通】"
KIND_BEFORE = "before"
KIND_DUE = "due"
OVERDUE_PREFIX = "overdue_"
KIND_STAFF_ESCALATION = "staff_escalation"


def overdue_kind(days: int) -> str:
    return f"{OVERDUE_PREFIX}{days}"


def sign_text(sign: str) -> str:
    """The sign as it opens a message: 【name】, brackets added when configured without them."""
    sign = sign.strip()
    if not sign:
        return ""
    return sign if sign.startswith("【") else f"【{sign.strip('[]【】')}】"


def chinese_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def reminder_text(
    kind: str, *, sign: str, name: str, seq: int, amount: Decimal, due_date: date, on: date
) -> str:
    """The message for one installment: ``kind`` is before, due or overdue_<days>."""
    head = f"{sign_text(sign)}{name}您好，您的贷款第{seq}期应还 ¥{format_money(amount)}"
    when = chinese_date(due_date)
    if kind == KIND_BEFORE:
        return f"{head}，到期日 {when}，请按时还款。"
    if kind == KIND_DUE:
        return f"{head}，今日（{when}）到期，请于今日还款。"
    if kind.startswith(OVERDUE_PREFIX):
        days = (on - due_date).days
        return f"{head}，已于 {when} 到期，现已逾期{days}天，请尽快还款，以免产生罚息、影响您的信用记录。"
    raise ValueError(f"unknown reminder kind {kind!r}")


def escalation_text(*, sign: str, director: str, borrower: str, days_past_due: int, officer: str) -> str:
    """The alert a director receives when a loan of his office is escalated to him."""
    return (f"{sign_text(sign)}{director}主任您好：客户{borrower}（客户经理{officer}）的贷款已逾期{days_past_due}天，"
            f"催收已升级由您跟进，请登录贷贷通查看。")


def group_late_text(*, sign: str, name: str, group: str, late: str) -> str:
    """The reminder the other members of a joint-liability group (联保小组) receive when a member is late."""
    return (f"{sign_text(sign)}{name}您好：您所在的联保小组{('“' + group + '”') if group else ''}成员{late}的贷款已逾期。"
            f"按联保约定，小组成员互相担保、共同承担还款责任，请提醒其尽快还款。")
