"""The query terminal's one search box: borrowers found by what a person types, narrowed by filters
on their loans and applications, sorted, one page at a time, always within the viewer's reach.

What the box understands (``kind_of``), each answered by an index (migration 0017):
- 18 characters of an ID number: the full number, equality on ``borrowers.id_number`` (unique);
- 6 digits (or 5 and an X): the ID number's last six digits, equality on ``borrowers.id_last6``;
- 11 digits: a mobile number, equality on ``borrowers.phone``; 7 to 10 digits: its beginning;
- ``#`` and digits, or 1 to 5 digits: an application number (the application's id);
- text with a dash (``CG-2026-00017``): a loan's contract number, by its beginning;
- any other text: a name or a village, by its beginning (``张`` finds 张三 and 张三丰).
A name is matched by its beginning, not anywhere inside it: "contains" (``%三%``) cannot use a
B-tree index and reads every borrower — seconds at a million rows — while a Chinese name starts
with the surname, which is what staff type. Loans and applications filters are EXISTS subqueries
on their borrower's index (``loans.borrower_id``, ``applications.borrower_id``).

Pages: ``PER_PAGE`` rows, at most ``MAX_PAGE`` pages (a bounded offset: a narrower search beats
page 300); each page reads one row more than it shows to know whether another follows, so no
COUNT(*) over a million borrowers is ever run. A page past the end is a clear message.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, exists, func, select
from sqlalchemy.sql.elements import ColumnElement

from app.domain import offices as office_rules
from app.domain import repayment as rp
from app.domain.i18n import N_
from app.domain.workflow import State
from app.extensions import db
from app.models import Application, Borrower, Loan, Office, Product, User
from app.services import scope
from app.services.errors import ServiceError

PER_PAGE = 25
MAX_PAGE = 200
MAX_QUERY = 50
LOAN_STATES = ("active", "closed", "written_off")
LOAN_STATE_LABELS = {"active": N_("Loan active"), "closed": N_("Loan closed"), "written_off": N_("Loan written off")}
APPLICATION_STATES = tuple(s.value for s in State)
SORTS = {
    "name": N_("Name"),
    "newest": N_("Newest registered first"),
    "oldest": N_("Oldest registered first"),
    "dpd": N_("Most days past due first"),
}
KIND_LABELS = {
    "all": "", "id_number": N_("ID number"), "id_last6": N_("last 6 digits of the ID number"),
    "mobile": N_("mobile number"), "application": N_("application number"), "loan": N_("loan number"),
    "text": N_("name or village (beginning)"),
}


class SearchError(ServiceError):
    """A search asked with a filter that cannot be honoured: said in words, nothing run."""


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    kind: str = "all"
    office_code: str = ""
    office_ids: frozenset[int] | None = None
    officer_id: int | None = None
    product_id: int | None = None
    state: str = ""
    classification: str = ""
    dpd_min: int | None = None
    dpd_max: int | None = None
    date_from: date | None = None  # a loan disbursed on or after
    date_to: date | None = None    # and on or before
    sort: str = "name"
    page: int = 1
    raw: Mapping[str, str] = field(default_factory=dict)  # the checked filters, for links and exports

    @property
    def loan_filtered(self) -> bool:
        return any(v is not None for v in (self.product_id, self.dpd_min, self.dpd_max, self.date_from,
                                           self.date_to)) or bool(self.classification) or self.state in LOAN_STATES


@dataclass(frozen=True)
class LoanLine:
    id: int
    contract_no: str
    status: str
    days_past_due: int
    classification: str
    principal: Decimal
    disbursed_on: date


@dataclass(frozen=True)
class Row:
    id: int
    name: str
    id_number_masked: str
    phone: str
    village: str
    office: str
    officer: str
    loans: list[LoanLine]

    @property
    def worst_dpd(self) -> int:
        return max((line.days_past_due for line in self.loans if line.status == "active"), default=0)


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    page: int
    has_next: bool
    request: SearchRequest


_ID18 = re.compile(r"^\d{17}[\dX]$")
_LAST6 = re.compile(r"^\d{5}[\dX]$")


def kind_of(q: str) -> str:
    """Which key a typed query is (see the module's docstring)."""
    if not q:
        return "all"
    if _ID18.match(q):
        return "id_number"
    if _LAST6.match(q):
        return "id_last6"
    if q.isdigit() and len(q) == 11 or q.isdigit() and 7 <= len(q) <= 10:
        return "mobile"
    if q.startswith("#") and q[1:].isdigit() and len(q) <= 13 or q.isdigit() and len(q) <= 5:
        return "application"
    if "-" in q:
        return "loan"
    return "text"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _prefix(column, text: str) -> ColumnElement[bool]:
    """``column`` begins with ``text``: the LIKE says it exactly, the range [text, next string) lets
    every database read it from the index (SQLite's LIKE is case-folding and never uses a plain
    index; MariaDB's LIKE 'x%' would, the range costs it nothing)."""
    like = column.like(_escape(text) + "%", escape="\\")
    code = ord(text[-1]) + 1
    if code > 0x10FFFF:
        return and_(column >= text, like)
    upper = text[:-1] + chr(0xE000 if 0xD800 <= code <= 0xDFFF else code)  # never a lone surrogate
    return and_(column >= text, column < upper, like)


def _int(raw: Mapping[str, str], key: str, *, limit: int = 10**9) -> int | None:
    value = (raw.get(key) or "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) > limit:
        raise SearchError("bad_number", N_("%(field)s must be a whole number."), field=key)
    return int(value)


def _date(raw: Mapping[str, str], key: str) -> date | None:
    value = (raw.get(key) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SearchError("bad_date", N_("Dates are written YYYY-MM-DD.")) from None


def parse(raw: Mapping[str, str], viewer: User) -> SearchRequest:
    """Check the query string against the viewer's reach; refusals raise ``SearchError``."""
    scope.require(viewer, scope.BORROWERS)
    q = " ".join((raw.get("q") or "").split())[:MAX_QUERY]
    q = q.upper() if _ID18.match(q.upper()) or _LAST6.match(q.upper()) else q
    kept: dict[str, str] = {}
    if q:
        kept["q"] = q
    office_code = (raw.get("office") or "").strip()[:20]
    office_ids = None
    if office_code:
        office_ids = _office_ids(viewer, office_code)
        kept["office"] = office_code
    officer_id = _int(raw, "officer")
    if officer_id is not None:
        officer = db.session.get(User, officer_id)
        reach = scope.office_reach(viewer, scope.BORROWERS)
        if officer is None or not (reach is None or officer.office_id in reach or officer.id == viewer.id):
            raise SearchError("unknown_officer", N_("There is no such officer within your reach."))
        kept["officer"] = str(officer_id)
    product_id = None
    product_code = (raw.get("product") or "").strip()[:30]
    if product_code:
        product_id = db.session.scalar(select(Product.id).where(Product.code == product_code))
        if product_id is None:
            raise SearchError("unknown_product", N_("There is no product with that code."))
        kept["product"] = product_code
    state = (raw.get("state") or "").strip()
    if state and state not in LOAN_STATES and state not in APPLICATION_STATES:
        raise SearchError("bad_state", N_("Choose a state from the list."))
    classification = (raw.get("class") or "").strip()
    if classification and classification not in rp.CLASSES:
        raise SearchError("bad_class", N_("Choose a loan class from the list."))
    dpd_min, dpd_max = _int(raw, "dpd_min", limit=100000), _int(raw, "dpd_max", limit=100000)
    if dpd_min is not None and dpd_max is not None and dpd_max < dpd_min:
        raise SearchError("dpd_reversed", N_("The days past due range ends before it starts."))
    date_from, date_to = _date(raw, "from"), _date(raw, "to")
    if date_from and date_to and date_to < date_from:
        raise SearchError("dates_reversed", N_("The period ends before it starts: check From and To."))
    sort = (raw.get("sort") or "name").strip()
    if sort not in SORTS:
        raise SearchError("bad_sort", N_("Choose a sort order from the list."))
    page = _int(raw, "page", limit=10**6) or 1
    if page > MAX_PAGE:
        raise SearchError("page_too_far", N_("Only the first %(pages)s pages are shown: narrow the search."),
                          pages=MAX_PAGE)
    for key, value in (("state", state), ("class", classification), ("dpd_min", dpd_min), ("dpd_max", dpd_max),
                       ("from", date_from), ("to", date_to)):
        if value not in (None, ""):
            kept[key] = value.isoformat() if isinstance(value, date) else str(value)
    if sort != "name":
        kept["sort"] = sort
    return SearchRequest(q=q, kind=kind_of(q), office_code=office_code, office_ids=office_ids,
                         officer_id=officer_id, product_id=product_id, state=state,
                         classification=classification, dpd_min=dpd_min, dpd_max=dpd_max, date_from=date_from,
                         date_to=date_to, sort=sort, page=page, raw=kept)


def _office_ids(viewer: User, code: str) -> frozenset[int]:
    office_id = db.session.scalar(select(Office.id).where(Office.code == code))
    reach = scope.office_reach(viewer, scope.BORROWERS)
    if office_id is None or (reach is not None and office_id not in reach):
        # An office out of reach gets the same answer as one that does not exist.
        raise SearchError("unknown_office", N_("There is no office with that code within your reach."))
    tree = dict(db.session.execute(select(Office.id, Office.parent_id)).tuples().all())
    return frozenset(office_rules.descendants(tree, office_id))


def _match(viewer: User, req: SearchRequest) -> ColumnElement[bool] | None:
    q, kind = req.q, req.kind
    if kind == "id_number":
        return Borrower.id_number == q
    if kind == "id_last6":
        return Borrower.id_last6 == q
    if kind == "mobile":
        return Borrower.phone == q if len(q) == 11 else _prefix(Borrower.phone, q)
    if kind == "application":
        number = int(q.lstrip("#") or 0)
        return Borrower.id.in_(select(Application.borrower_id).where(
            Application.id == number, scope.scope_clause(viewer, Application)))
    if kind == "loan":
        return Borrower.id.in_(select(Loan.borrower_id).where(_prefix(Loan.contract_no, q.upper())))
    if kind == "text":
        return _prefix(Borrower.name, q) | _prefix(Borrower.village, q)
    return None


def filter_choices(viewer: User) -> dict[str, list[tuple]]:
    """The offices, officers and products the box's filters offer this viewer: (value, name) pairs
    of what lies within his reach."""
    reach = scope.office_reach(viewer, scope.BORROWERS)
    offices = select(Office.code, Office.name).order_by(Office.code)
    officers = select(User.id, User.full_name).order_by(User.full_name)
    if reach is not None:
        offices = offices.where(Office.id.in_(sorted(reach)))
        officers = officers.where(User.office_id.in_(sorted(reach)))
    return {
        "offices": [tuple(row) for row in db.session.execute(offices)],
        "officers": [tuple(row) for row in db.session.execute(officers)],
        "products": [tuple(row) for row in db.session.execute(select(Product.code, Product.name).order_by(Product.code))],
    }


def borrower_match(viewer: User, q: str) -> ColumnElement[bool] | None:
    """What the box matches for ``q`` alone, as a condition on Borrower (None for an empty box):
    other lists that find people by a typed word (the applications list) use the same keys."""
    return _match(viewer, parse({"q": q}, viewer))


def conditions(viewer: User, req: SearchRequest) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [scope.scope_clause(viewer, Borrower)]
    match = _match(viewer, req)
    if match is not None:
        where.append(match)
    if req.office_ids is not None:
        where.append(Borrower.office_id.in_(sorted(req.office_ids)))
    if req.officer_id is not None:
        where.append(Borrower.officer_id == req.officer_id)
    if req.loan_filtered:
        # One loan must meet every loan filter at once (an overdue loan of this product).
        on = [Loan.borrower_id == Borrower.id]
        if scope.may(viewer, scope.LOANS):
            on.append(scope.scope_clause(viewer, Loan))
        else:
            on.append(Loan.id.is_(None))  # loans' figures are not this role's to filter on
        if req.product_id is not None:
            on.append(Loan.product_id == req.product_id)
        if req.state in LOAN_STATES:
            on.append(Loan.status == req.state)
        if req.classification:
            on.append(Loan.classification == req.classification)
        if req.dpd_min is not None:
            on.append(Loan.days_past_due >= req.dpd_min)
        if req.dpd_max is not None:
            on.append(Loan.days_past_due <= req.dpd_max)
        if req.date_from is not None:
            on.append(Loan.disbursed_on >= req.date_from)
        if req.date_to is not None:
            on.append(Loan.disbursed_on <= req.date_to)
        where.append(exists().where(and_(*on)))
    if req.state in APPLICATION_STATES:
        where.append(exists().where(Application.borrower_id == Borrower.id, Application.state == req.state,
                                    scope.scope_clause(viewer, Application)))
    return where


def _order(req: SearchRequest) -> list:
    if req.sort == "newest":
        return [Borrower.id.desc()]
    if req.sort == "oldest":
        return [Borrower.id.asc()]
    if req.sort == "dpd":
        worst = (select(func.coalesce(func.max(Loan.days_past_due), 0))
                 .where(Loan.borrower_id == Borrower.id, Loan.status == "active").scalar_subquery())
        return [worst.desc(), Borrower.name, Borrower.id]
    return [Borrower.name, Borrower.id]


def _select(viewer: User, req: SearchRequest):
    return (select(Borrower.id, Borrower.name, Borrower.id_number, Borrower.phone, Borrower.village,
                   Office.name, User.full_name)
            .join(Office, Office.id == Borrower.office_id).join(User, User.id == Borrower.officer_id)
            .where(*conditions(viewer, req)).order_by(*_order(req)))


def run(viewer: User, req: SearchRequest) -> Page:
    """One page of the borrowers found, with their loans (one more query for the page's loans)."""
    result = db.session.execute(
        _select(viewer, req).limit(PER_PAGE + 1).offset((req.page - 1) * PER_PAGE)
    ).all()
    if not result and req.page > 1:
        raise SearchError("page_past_end", N_("There is no page %(page)s: the results end before it."),
                          page=req.page)
    shown = result[:PER_PAGE]
    loans = _loans_of(viewer, [r[0] for r in shown])
    rows = [Row(bid, name, _mask(number), phone, village, office, officer, loans.get(bid, []))
            for bid, name, number, phone, village, office, officer in shown]
    return Page(rows, req.page, len(result) > PER_PAGE, req)


def _mask(number: str) -> str:
    from app.domain.idcard import mask
    return mask(number)


def _loans_of(viewer: User, borrower_ids: list[int]) -> dict[int, list[LoanLine]]:
    if not borrower_ids or not scope.may(viewer, scope.LOANS):
        return {}
    found: dict[int, list[LoanLine]] = {}
    for row in db.session.execute(
        select(Loan.borrower_id, Loan.id, Loan.contract_no, Loan.status, Loan.days_past_due, Loan.classification,
               Loan.principal, Loan.disbursed_on)
        .where(Loan.borrower_id.in_(borrower_ids), scope.scope_clause(viewer, Loan))
        .order_by(Loan.disbursed_on.desc(), Loan.id.desc())
    ):
        found.setdefault(row[0], []).append(LoanLine(row[1], row[2] or "", *row[3:]))
    return found


def all_rows(viewer: User, req: SearchRequest) -> Iterator[dict]:
    """Every borrower found (no page), streamed: the rows of an export."""
    stream = db.session.execute(_select(viewer, req).execution_options(yield_per=1000))
    for bid, name, number, phone, village, office, officer in stream:
        yield {"name": name, "id_number": _mask(number), "phone": phone, "village": village,
               "office": office, "officer": officer}


COLUMNS = (("name", N_("Name"), "text", True), ("id_number", N_("ID number"), "text", True),
           ("phone", N_("Mobile"), "text", True), ("village", N_("Village"), "text", True),
           ("office", N_("Office"), "text", False), ("officer", N_("Loan officer"), "text", False))


def as_report(viewer: User, req: SearchRequest, *, today: date):
    """What was found, in the shape the exports write (``exports.audited_download``): every row,
    streamed, the ID numbers masked; the filters as typed are written at the top of the file."""
    from app.services import reporting

    request = reporting.ReportRequest(name="search", as_of=today, office_code=req.office_code,
                                      extra={k: v for k, v in req.raw.items() if k != "office"})
    columns = [reporting.Column(key, label, kind, personal) for key, label, kind, personal in COLUMNS]
    return reporting.Report(name="search", title=N_("Search results"), request=request, columns=columns,
                            rows=all_rows(viewer, req))
