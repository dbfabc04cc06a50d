"""The query terminal's reports: one request shape, one result shape, one registry.

Every report (``par``, ``classification``, ``disbursements``, ``collection``, ``arrears``,
``officers``, ``pipeline``, ``upcoming``) is a builder ``build(viewer, request) -> Report``
registered here under its name. The screens (app/web/reports.py), the exports
(app/services/exports.py) and ``flask report`` (app/report_cli.py) all go through ``parse()``
then ``run()``, so a filter means the same thing on screen, in a workbook and on the command line.

``viewer`` is the logged-in user, or ``None`` for the command line (the operator of the server:
the whole institution). Reach is ``scope.scope_clause`` for a user, nothing for ``None``:
``reach(viewer, Model)`` below is the one call a builder makes for it.

Rows are dicts keyed by the report's column keys; money is ``Decimal`` yuan with two decimals,
percentages ``Decimal`` with two decimals, days and counts ``int``, dates ``date``. A big list
(the arrears list) gives its rows as a generator read from a streamed query, never a list of a
million rows.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from itertools import islice
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.sql.elements import ColumnElement

from app.domain import offices as office_rules
from app.domain.i18n import N_
from app.extensions import db
from app.models import Office, Product, User, UserRole
from app.services import scope
from app.services.errors import ServiceError

# The longest period a report covers: enough for three years of disbursements, short enough
# that nobody starts a ten-year scan by a slip of the year.
MAX_PERIOD_DAYS = 3 * 366
BY = ("office", "branch", "officer", "product")
KINDS = ("text", "int", "money", "percent", "date", "days", "hours")  # hours: Decimal, one decimal


class ReportRequestError(ServiceError):
    """A report asked for with a filter that cannot be honoured: said in words, nothing run."""


@dataclass(frozen=True)
class Column:
    key: str
    label: str          # N_() English, translated at the edge
    kind: str = "text"  # one of KINDS: how it is typed in a workbook and aligned on screen
    personal: bool = False  # a person's data (name, mobile, village…): its export is audited as such


@dataclass(frozen=True)
class ReportRequest:
    """What a report is asked for, checked: every field is valid and within the viewer's reach."""

    name: str
    as_of: date
    date_from: date | None = None   # a period report's first day (inclusive)
    date_to: date | None = None     # and its last day (inclusive)
    by: str | None = None           # one of BY, or None for the total only
    office_ids: frozenset[int] | None = None  # the chosen office and every office under it
    office_code: str = ""
    officer_id: int | None = None
    product_id: int | None = None
    product_code: str = ""    # as asked, for the filters written at the top of an export
    extra: Mapping[str, str] = field(default_factory=dict)  # a report's own filters, checked by it


@dataclass
class Report:
    name: str
    title: str                  # N_()
    request: ReportRequest
    columns: list[Column]
    rows: Iterable[dict[str, Any]]
    totals: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # N_() lines shown under the title and in exports

    @property
    def as_of(self) -> date:
        return self.request.as_of

    @property
    def personal(self) -> bool:
        return any(column.personal for column in self.columns)


@dataclass(frozen=True)
class ReportSpec:
    name: str
    title: str                                   # N_()
    build: Callable[[User | None, ReportRequest], Report]
    period: bool = False                         # takes --from/--to
    by: tuple[str, ...] = BY                     # the breakdowns it offers
    description: str = ""                        # N_(): one line on the reports' index


REPORTS: dict[str, ReportSpec] = {}
NAMES = ("par", "classification", "disbursements", "collection", "arrears", "officers", "pipeline", "upcoming",
         "scorecard_backtest")


def register(spec: ReportSpec) -> ReportSpec:
    if spec.name not in NAMES:
        raise ValueError(f"unknown report name {spec.name}")
    REPORTS[spec.name] = spec
    return spec


# The modules whose import registers builders. Named as data, not imported by this module's code:
# the builders depend on this module, never the reverse (tests/unit/test_service_imports.py).
BUILDER_MODULES = ("app.services.reports_portfolio", "app.services.reports_flow", "app.services.reports_pipeline",
                   "app.services.backtest")


def _load_builders() -> None:
    """The builders register themselves on import; import them once, here, so every edge sees all."""
    for module in BUILDER_MODULES:
        if module not in sys.modules:
            importlib.import_module(module)


def specs() -> list[ReportSpec]:
    _load_builders()
    return [REPORTS[name] for name in NAMES if name in REPORTS]


def spec(name: str) -> ReportSpec:
    _load_builders()
    found = REPORTS.get(name)
    if found is None:
        raise ReportRequestError("unknown_report", N_("There is no report called “%(name)s”."), name=name[:40])
    return found


def may_see_reports(viewer: User | None) -> bool:
    """Reports are figures about loans: the roles granted loans (an officer over his own)."""
    return viewer is None or scope.may(viewer, scope.LOANS)


def reach(viewer: User | None, model) -> ColumnElement[bool]:
    """The rows of ``model`` (Loan, Application, Borrower or a snapshot) the viewer reaches."""
    return true() if viewer is None else scope.scope_clause(viewer, model)


def office_filter(request: ReportRequest, column) -> ColumnElement[bool]:
    """The request's office filter on an ``office_id`` column (true when none was chosen)."""
    return true() if request.office_ids is None else column.in_(sorted(request.office_ids))


def conditions(viewer: User | None, request: ReportRequest, model) -> list[ColumnElement[bool]]:
    """Reach and the request's office, officer and product filters on a model with those columns
    (Loan, Application, a snapshot): the WHERE every builder starts from."""
    where = [reach(viewer, model), office_filter(request, model.office_id)]
    if request.officer_id is not None:
        where.append(model.officer_id == request.officer_id)
    if request.product_id is not None:
        where.append(model.product_id == request.product_id)
    return where


# --- breakdowns: one meaning of "by office / branch / officer / product" for every report -----

GROUP_LABELS = {"office": N_("Office"), "branch": N_("Branch"), "officer": N_("Loan officer"),
                "product": N_("Product"), "week": N_("Week"), "month": N_("Month")}


def group_columns(by: str | None) -> list[Column]:
    """The breakdown's first column (none for the whole portfolio in one row)."""
    return [Column("group", GROUP_LABELS[by], "text")] if by else []


def branch_of() -> dict[int, int]:
    """Each office's branch (app.domain.offices.branch_of), for a breakdown by branch."""
    rows = db.session.execute(select(Office.id, Office.parent_id, Office.kind)).all()
    return office_rules.branch_of({r.id: r.parent_id for r in rows}, {r.id: r.kind for r in rows})


def group_names(by: str | None, keys: Iterable[Any]) -> dict[Any, str]:
    """The names of a breakdown's keys (offices and branches, officers, products) in one query."""
    keys = sorted({k for k in keys if k is not None})
    if not keys or by not in ("office", "branch", "officer", "product"):
        return {}
    model, name = {"office": (Office, Office.name), "branch": (Office, Office.name),
                   "officer": (User, User.full_name), "product": (Product, Product.name)}[by]
    return dict(db.session.execute(select(model.id, name).where(model.id.in_(keys))).tuples().all())


def translator() -> Callable[[str], str]:
    """The reader's language for the few words a report writes into its rows (class names,
    verdicts): in a request the reader's, under force_locale that one, else the English source."""
    from flask_babel import gettext

    def translate(message: str) -> str:
        try:
            return gettext(message)
        except RuntimeError:  # no request and no forced locale
            return message
    return translate


# --- parsing what a person or a script typed ------------------------------------------------


def _date(raw: Mapping[str, str], key: str, label: str) -> date | None:
    value = (raw.get(key) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ReportRequestError("bad_date", N_("%(field)s must be a date written YYYY-MM-DD."),
                                 field=label) from None


def _int(raw: Mapping[str, str], key: str) -> int | None:
    value = (raw.get(key) or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 12:
        raise ReportRequestError("bad_filter", N_("That filter is not valid."))
    return int(value)


def parse(name: str, raw: Mapping[str, str], *, viewer: User | None, today: date) -> ReportRequest:
    """Check a report request (query string or command-line options) against the viewer's reach.

    Keys: ``as_of``, ``from``, ``to`` (YYYY-MM-DD), ``by``, ``office`` (an office's code: it and
    every office under it), ``officer`` (a user's id), ``product`` (a product's code); anything
    else goes to ``extra`` for the report to check. Refused with a clear message: an unknown
    report, a bad date, a period ending before it starts or longer than three years, a date in
    the future, an office, officer or product unknown or out of the viewer's reach.
    """
    found = spec(name)
    if not may_see_reports(viewer):
        raise scope.OutOfScope("report", None)
    as_of = _date(raw, "as_of", N_("As of")) or today
    if as_of > today:
        raise ReportRequestError("future_date", N_("The as-of date cannot be after today."))
    date_from = date_to = None
    if found.period:
        date_to = _date(raw, "to", N_("To")) or as_of
        date_from = _date(raw, "from", N_("From")) or date_to.replace(day=1)
        if date_to < date_from:
            raise ReportRequestError("dates_reversed", N_("The period ends before it starts: check From and To."))
        if (date_to - date_from).days + 1 > MAX_PERIOD_DAYS:
            raise ReportRequestError("period_too_long", N_("A report covers at most three years: choose a shorter period."))
        if date_to > today:
            raise ReportRequestError("future_date", N_("The period cannot end after today."))
    by = (raw.get("by") or "").strip() or None
    if by is not None and by not in found.by:
        raise ReportRequestError("bad_by", N_("This report cannot be broken down that way."))
    request = ReportRequest(name=name, as_of=as_of, date_from=date_from, date_to=date_to, by=by,
                            extra={k: v for k, v in raw.items()
                                   if k not in {"as_of", "from", "to", "by", "office", "officer", "product",
                                                "format", "page"}})
    code = (raw.get("office") or "").strip()
    if code:
        request = replace(request, office_ids=_office_ids(viewer, code), office_code=code)
    officer_id = _int(raw, "officer")
    if officer_id is not None:
        request = replace(request, officer_id=_officer(viewer, officer_id))
    product_code = (raw.get("product") or "").strip()
    if product_code:
        product_id = db.session.scalar(select(Product.id).where(Product.code == product_code[:30]))
        if product_id is None:
            raise ReportRequestError("unknown_product", N_("There is no product with that code."))
        request = replace(request, product_id=product_id, product_code=product_code[:30])
    return request


def _office_ids(viewer: User | None, code: str) -> frozenset[int]:
    tree = dict(db.session.execute(select(Office.id, Office.parent_id)).tuples().all())
    office_id = db.session.scalar(select(Office.id).where(Office.code == code[:20]))
    reach_ids = None if viewer is None else scope.office_reach(viewer, scope.LOANS)
    # An office out of reach gets the same answer as one that does not exist.
    if office_id is None or (reach_ids is not None and office_id not in reach_ids):
        raise ReportRequestError("unknown_office", N_("There is no office with that code within your reach."))
    return frozenset(office_rules.descendants(tree, office_id))


def _officer(viewer: User | None, officer_id: int) -> int:
    officer = db.session.get(User, officer_id)
    reach_ids = None if viewer is None else scope.office_reach(viewer, scope.LOANS)
    allowed = officer is not None and (reach_ids is None or officer.office_id in reach_ids
                                       or (viewer is not None and officer.id == viewer.id))
    if not allowed:
        raise ReportRequestError("unknown_officer", N_("There is no such officer within your reach."))
    return officer_id


def run(viewer: User | None, request: ReportRequest) -> Report:
    return spec(request.name).build(viewer, request)


# --- the shared shapes of a result -----------------------------------------------------------


def fen_to_yuan(fen: int | None) -> Decimal:
    return (Decimal(int(fen or 0)) / 100).quantize(Decimal("0.01"))


def share(part: int | Decimal, whole: int | Decimal) -> Decimal:
    """``part`` as a percentage of ``whole``, two decimals, half-up; 0.00 of nothing."""
    if not whole:
        return Decimal("0.00")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"))


def plain(value: Any) -> Any:
    """A value as JSON carries it: money and percentages as strings with two decimals."""
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01'))}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def filters_shown(request: ReportRequest) -> dict[str, str]:
    """The filters as written at the top of an export and in the JSON's ``filters``."""
    shown = {"as_of": request.as_of.isoformat()}
    if request.date_from is not None:
        shown["from"] = request.date_from.isoformat()
    if request.date_to is not None:
        shown["to"] = request.date_to.isoformat()
    if request.by:
        shown["by"] = request.by
    if request.office_code:
        shown["office"] = request.office_code
    if request.officer_id is not None:
        shown["officer"] = str(request.officer_id)
    if request.product_id is not None:
        shown["product"] = request.product_code or str(request.product_id)
    shown.update({k: str(v) for k, v in request.extra.items() if v})
    return shown


def as_json(report: Report) -> dict[str, Any]:
    """``{"report", "as_of", "filters", "rows": [...], "totals": {...}}`` for scripts and tests."""
    return {
        "report": report.name,
        "as_of": report.as_of.isoformat(),
        "filters": filters_shown(report.request),
        "rows": [{key: plain(value) for key, value in row.items()} for row in report.rows],
        "totals": {key: plain(value) for key, value in report.totals.items()},
    }


# --- what the screens need beside a report ---------------------------------------------------

PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    number: int
    has_next: bool
    size: int = PAGE_SIZE


def page_number(raw: Mapping[str, str]) -> int:
    value = (raw.get("page") or "").strip()
    if not value:
        return 1
    if not value.isdigit() or len(value) > 9 or int(value) < 1:
        raise ReportRequestError("bad_page", N_("The page number must be a whole number from 1."))
    return int(value)


def page(rows: Iterable[dict[str, Any]], number: int, size: int = PAGE_SIZE) -> Page:
    """Rows ``(number-1)*size`` to ``number*size`` of a report, read through once (a streamed list
    is never held whole). A page past the end is refused, naming the last page."""
    it = iter(rows)
    skipped = sum(1 for _ in islice(it, (number - 1) * size))
    taken = list(islice(it, size + 1))
    if number > 1 and not taken:
        last = max(1, -(-skipped // size))
        raise ReportRequestError("page_past_end", N_("There is no page %(page)s: this report has %(last)s."),
                                 page=number, last=last)
    return Page(taken[:size], number, len(taken) > size, size)


def filter_choices(viewer: User | None) -> dict[str, list[tuple[str, str]]]:
    """The offices, officers and products a viewer may filter by: (value, name) pairs."""
    office_q = select(Office.code, Office.name).order_by(Office.code)
    officer_q = (select(User.id, User.full_name).join(UserRole, UserRole.user_id == User.id)
                 .where(UserRole.role == "officer").order_by(User.full_name))
    reach_ids = None if viewer is None else scope.office_reach(viewer, scope.LOANS)
    if reach_ids is not None:
        office_q = office_q.where(Office.id.in_(sorted(reach_ids)))
        officer_q = officer_q.where(User.office_id.in_(sorted(reach_ids)) | (User.id == viewer.id))
    products = select(Product.code, Product.name).order_by(Product.code)
    return {
        "offices": [(code, name) for code, name in db.session.execute(office_q)],
        "officers": [(str(i), name) for i, name in db.session.execute(officer_q.distinct())],
        "products": [(code, name) for code, name in db.session.execute(products)],
    }
