"""Credit-bureau queries (征信): the purposes a query may be made for, and the key figures a reviewer
needs read off a bureau report's text.

No bureau is reachable from the system: HQ uploads the report the bureau returned (a PDF with a
text layer, or an image of it, which OCR reads), and ``extract`` reads labelled figures out of the
text — open loans, overdue accounts, the longest overdue months, the worst five-level class
(五级分类) and the total balance — each where its label is followed by a value on the same line (or
the next). It was written against sample reports laid out that way (tests/support/bureau_report.py),
not against real bureau reports: a figure whose label it does not know is not read, never guessed,
and the reviewer always has the report itself one click away.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from app.domain.i18n import N_

__all__ = ["FIGURE_LABELS", "PURPOSES", "CLASSES", "Figures", "extract", "worst_class"]

# Why a query is made (the bureau's own reasons): the code stored, the label shown.
PURPOSES: dict[str, str] = {
    "loan_approval": N_("Pre-loan review (贷前审查)"),
    "post_loan": N_("Post-loan management (贷后管理)"),
    "guarantor_check": N_("Guarantor eligibility (担保资格审查)"),
}

# The five-level loan classification, best to worst.
CLASSES = ("正常", "关注", "次级", "可疑", "损失")

# What the page shows for each figure.
FIGURE_LABELS: dict[str, str] = {
    "report_no": N_("Report number"),
    "open_loans": N_("Open loans"),
    "overdue_count": N_("Overdue accounts"),
    "overdue_months": N_("Longest overdue (months)"),
    "worst_class": N_("Worst five-level class"),
    "total_balance": N_("Total balance"),
}

# Labels each figure is known by in a report, longest first where one contains another.
_INT_LABELS: dict[str, tuple[str, ...]] = {
    "open_loans": ("未结清贷款账户数", "未结清贷款笔数", "未结清账户数", "未结清贷款"),
    "overdue_count": ("当前逾期账户数", "逾期账户数", "当前逾期笔数", "逾期笔数"),
    "overdue_months": ("最长逾期月数", "最高逾期月数", "逾期月数"),
}
_MONEY_LABELS = ("未结清贷款余额合计", "贷款余额合计", "余额合计", "贷款余额", "总余额")
_REPORT_NO_LABELS = ("报告编号",)
_CLASS_LABELS = ("五级分类", "最差五级分类", "当前五级分类")

_SEP = r"[\s:：=]*"
_INT = r"(\d{1,4})(?:\s*(?:笔|个|户|月|次))?"
_MONEY = r"((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?)(?:\s*元)?"


@dataclass(frozen=True)
class Figures:
    report_no: str | None = None
    open_loans: int | None = None
    overdue_count: int | None = None
    overdue_months: int | None = None
    worst_class: str | None = None
    total_balance: Decimal | None = None

    def to_dict(self) -> dict[str, object]:
        """What BureauQuery.figures stores: the figures read (amounts as strings), none guessed."""
        out: dict[str, object] = {}
        for key in FIGURE_LABELS:
            value = getattr(self, key)
            if value is not None:
                out[key] = f"{value:.2f}" if isinstance(value, Decimal) else value
        return out

    @property
    def empty(self) -> bool:
        return not self.to_dict()


def _normalise(text: str) -> str:
    # Full-width digits and colons as half-width; no zero-width or control characters.
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c)[0] != "C")


def _find(text: str, labels: tuple[str, ...], value: str) -> str | None:
    for label in labels:
        # The label, then (on the same line, or alone on its line) the value.
        m = re.search(re.escape(label) + r"[ \t:：=]*(?:\n[ \t]*)?" + value, text)
        if m:
            return m.group(1)
    return None


def worst_class(text: str) -> str | None:
    """The worst five-level class named after a class label anywhere in the text."""
    found: list[str] = []
    for label in _CLASS_LABELS:
        for m in re.finditer(re.escape(label) + r"[ \t:：=]*(?:\n[ \t]*)?(" + "|".join(CLASSES) + ")", text):
            found.append(m.group(1))
    return max(found, key=CLASSES.index) if found else None


def extract(text: str) -> Figures:
    """The key figures of a bureau report's text; a figure not found is None."""
    text = _normalise(text)
    ints: dict[str, int | None] = {}
    for key, labels in _INT_LABELS.items():
        raw = _find(text, labels, _INT)
        ints[key] = int(raw) if raw is not None else None
    balance = None
    raw = _find(text, _MONEY_LABELS, _MONEY)
    if raw is not None:
        try:
            balance = Decimal(raw.replace(",", ""))
        except InvalidOperation:
            balance = None
    report_no = _find(text, _REPORT_NO_LABELS, r"([0-9A-Za-z]{6,40})")
    return Figures(report_no=report_no, worst_class=worst_class(text), total_balance=balance, **ints)
