"""Credit-bureau queries (征信): the purposes a query may be made for, and the key figures a reviewer
needs read off a bureau report's text.

No bureau is reachable from the system: HQ uploads the report the bureau returned (a PDF with a
text layer, or an image of it, which OCR reads), and ``extract`` reads labelled figures out of the
text — open loans, overdue accounts, the longest overdue months, the worst five-level class
(五级分类) and the total balance — each where its label is followed by a value on the same line (or
the next). It was written against sample reports laid out that way (tests/support/bureau_report.py),
not against real bureau reports: a figure whose label it does not know is not read, never guessed,
and the reviewer always has the report itself one click away.

``identity`` reads whose report it is — the name (姓名) and the ID number (证件号码) at its top —
and ``compare_identity`` sets them against the application's borrower: an ID number is compared
only when all 18 characters were read (a masked or cut-off number is "not checked", never guessed),
a name only as a hint, since a name can be written differently while the ID number cannot.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from app.domain.i18n import N_

__all__ = ["FIGURE_LABELS", "PURPOSES", "CLASSES", "IDENTITY_CHECKS", "Figures", "ReportIdentity", "compare_identity",
           "extract", "identity", "worst_class"]

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


# --- whose report it is ------------------------------------------------------------------------

# The outcomes of setting a report's identity against the borrower's.
IDENTITY_CHECKS = ("match", "name_differs", "id_differs", "unchecked")

_NAME_LABELS = ("被查询者姓名", "被查询人姓名", "被查询者", "姓名")
_ID_LABELS = ("被查询者证件号码", "被查询人证件号码", "证件号码", "身份证号码", "身份证号")
_NAME = r"([\u3400-\u9fff][\u3400-\u9fff·]{0,19})"
# Eighteen characters, any of them possibly masked (*), not part of a longer run.
_ID = r"(?<![0-9A-Za-z*])([0-9*]{17}[0-9Xx*])(?![0-9A-Za-z*])"


@dataclass(frozen=True)
class ReportIdentity:
    """Whose report it is, as read: the name and the full 18-character ID number (upper-case X), or
    None where the text does not carry it readably (a masked number is not read)."""

    name: str | None = None
    id_number: str | None = None


def _plain_name(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", name) if not c.isspace() and c not in "·.•・")


def identity(text: str) -> ReportIdentity:
    """The name and the ID number printed on a bureau report's text (its first of each)."""
    text = _normalise(text)
    name = _find(text, _NAME_LABELS, _NAME)
    if name is not None and name in ("证件类型", "证件号码"):
        name = None
    number = _find(text, _ID_LABELS, _ID)
    if number is not None:
        number = number.upper()
        if "*" in number:
            number = None
    return ReportIdentity(name=name, id_number=number)


def compare_identity(report: ReportIdentity, name: str, id_number: str) -> str:
    """One of IDENTITY_CHECKS: ``id_differs`` when the report's full ID number is not the
    borrower's, ``unchecked`` when the report's ID number could not be read, ``name_differs`` when
    the ID numbers agree but the names do not, else ``match``."""
    if report.id_number is None:
        return "unchecked"
    if report.id_number != "".join(id_number.split()).upper():
        return "id_differs"
    if report.name is not None and _plain_name(report.name) != _plain_name(name):
        return "name_differs"
    return "match"
