"""HQ data entry (录入): the structured record keyed in from the photographed documents.

``check_entry`` takes what the clerk typed (strings, as a form sends them) and returns the
normalised values, the facts derived from the ID number, and every problem at once, each an
N_ message with parameters. Saving a draft keeps whatever was typed; completing the entry
needs a check without errors — amount in figures and in capitals must agree, the ID number
must be valid. How the keyed values compare with the capture and OCR is app/domain/findings.py.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from app.domain import idcard
from app.domain.dates import parse_business_date
from app.domain.i18n import N_
from app.domain.manifest import ProductSpec
from app.domain.money import AmountError, amounts_agree, format_money, from_capitals, parse_amount
from app.domain.names import check_name
from app.domain.phone import PhoneError, normalise_mobile

__all__ = ["FIELDS", "EntryCheck", "FieldSpec", "check_entry"]

Errors = dict[str, tuple[str, dict[str, object]]]


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str  # N_
    group: str  # "borrower", "household", "guarantor", "loan"
    kind: str  # "text", "name", "id_number", "phone", "int", "area", "amount", "capitals", "date", "product"
    required: bool = False
    max_length: int = 100


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("name", N_("Borrower's name"), "borrower", "name", True, 50),
    FieldSpec("id_number", N_("ID number"), "borrower", "id_number", True, 18),
    FieldSpec("address", N_("Address"), "borrower", "text", True, 200),
    FieldSpec("phone", N_("Mobile phone"), "borrower", "phone", False, 20),
    FieldSpec("household_size", N_("People in the household"), "household", "int", True, 3),
    FieldSpec("land_mu", N_("Land farmed (mu)"), "household", "area", False, 10),
    FieldSpec("livestock", N_("Livestock"), "household", "text", False, 100),
    FieldSpec("income_sources", N_("Sources of income"), "household", "text", True, 200),
    FieldSpec("annual_income", N_("Household income per year (yuan)"), "household", "amount", True, 16),
    FieldSpec("existing_debts", N_("Existing debts (yuan)"), "household", "amount", False, 16),
    FieldSpec("debts_detail", N_("Existing debts: to whom, what for"), "household", "text", False, 200),
    FieldSpec("guarantor_name", N_("Guarantor's name"), "guarantor", "name", False, 50),
    FieldSpec("guarantor_id_number", N_("Guarantor's ID number"), "guarantor", "id_number", False, 18),
    FieldSpec("guarantor_phone", N_("Guarantor's mobile phone"), "guarantor", "phone", False, 20),
    FieldSpec("product_id", N_("Loan type"), "loan", "product", True, 10),
    FieldSpec("amount", N_("Amount in figures (yuan)"), "loan", "amount", True, 16),
    FieldSpec("amount_in_capitals", N_("Amount in Chinese capitals"), "loan", "capitals", True, 40),
    FieldSpec("term_months", N_("Term (months)"), "loan", "int", True, 3),
    FieldSpec("purpose", N_("Purpose"), "loan", "text", True, 200),
    FieldSpec("signed_on", N_("Date on the IOU"), "loan", "date", False, 10),
)
_BY_KEY = {f.key: f for f in FIELDS}
MAX_HOUSEHOLD = 30
# An IOU is signed when the officer visits; entry follows within weeks. Older is a typing slip.
IOU_MAX_BACK_DAYS = 366


@dataclass(frozen=True)
class EntryCheck:
    values: dict[str, str]  # normalised text of every field, as stored
    errors: Errors
    # Derived from the ID number: birth date, sex ("M"/"F"), age today.
    derived: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _clean(raw: Mapping[str, object], key: str) -> str:
    value = raw.get(key, "")
    return " ".join(str(value).split()) if value is not None else ""


def check_entry(
    raw: Mapping[str, object],
    *,
    products: Mapping[int, ProductSpec],
    today: date,
) -> EntryCheck:
    values = {f.key: _clean(raw, f.key) for f in FIELDS}
    errors: Errors = {}
    derived: dict[str, object] = {}

    def bad(key: str, message: str, **params: object) -> None:
        errors.setdefault(key, (message, params))

    for spec in FIELDS:
        value = values[spec.key]
        if not value:
            if spec.required:
                bad(spec.key, N_("Required."))
            continue
        if len(value) > spec.max_length:
            bad(spec.key, N_("At most %(limit)s characters."), limit=spec.max_length)
            continue
        if spec.kind in ("id_number", "phone", "amount", "int", "area", "date", "name"):
            _check_kind(spec, value, values, today, bad)

    if values["id_number"] and "id_number" not in errors:
        info = idcard.parse(values["id_number"], today)
        values["id_number"] = info.number
        derived = {"birth_date": info.birth_date, "sex": info.sex, "age": info.age_on(today)}
    # Whether the keyed values are the officer's and OCR's is no check here: telling the clerk would
    # give the value away. It is compared after completion (app/domain/findings.py).
    _check_guarantor(values, errors, bad)
    _check_loan(values, errors, products, bad)
    return EntryCheck(values, errors, derived)


def _check_kind(spec: FieldSpec, value: str, values: dict[str, str], today: date, bad) -> None:
    key = spec.key
    if spec.kind == "id_number":
        try:
            values[key] = idcard.parse(value, today).number
        except idcard.IdNumberError as e:
            bad(key, e.message, **e.params)
    elif spec.kind == "phone":
        try:
            values[key] = normalise_mobile(value)
        except PhoneError as e:
            bad(key, e.message)
    elif spec.kind == "amount":
        try:
            amount = parse_amount(value)
        except AmountError as e:
            bad(key, e.message, **e.params)
            return
        values[key] = f"{amount:.2f}"
    elif spec.kind == "int":
        # isdecimal, not isdigit: "²" is a digit to Python but int() refuses it.
        if not value.isdecimal() or int(value) <= 0:
            bad(key, N_("Enter a whole number."))
            return
        values[key] = str(int(value))
        if key == "household_size" and int(value) > MAX_HOUSEHOLD:
            bad(key, N_("At most %(max)s people."), max=MAX_HOUSEHOLD)
    elif spec.kind == "area":
        try:
            area = Decimal(value)
        except InvalidOperation:
            area = Decimal(-1)
        if not area.is_finite() or area < 0 or area != area.quantize(Decimal("0.01")) or area > 100000:
            bad(key, N_("Enter the area in mu, e.g. 3.5."))
            return
        values[key] = str(area.normalize()) if area == area.to_integral() else str(area)
    elif spec.kind == "name":
        # One name rule for web, phone and import (app/domain/names.py).
        values[key], problem = check_name(value, max_length=spec.max_length)
        if problem:
            bad(key, problem[0], **problem[1])
    elif spec.kind == "date":
        # The IOU's date: a sanity window (not ahead of today, not older than IOU_MAX_BACK_DAYS).
        _when, problem = parse_business_date(value, today=today, max_back_days=IOU_MAX_BACK_DAYS)
        if problem:
            bad(key, problem[0], **problem[1])


def _check_guarantor(values: dict[str, str], errors: Errors, bad) -> None:
    given = [k for k in ("guarantor_name", "guarantor_id_number", "guarantor_phone") if values[k]]
    if not given:
        return
    for key in ("guarantor_name", "guarantor_id_number"):
        if not values[key]:
            bad(key, N_("Required when there is a guarantor."))
    if values["guarantor_id_number"] and values["guarantor_id_number"] == values["id_number"]:
        bad("guarantor_id_number", N_("The guarantor cannot be the borrower."))


def _check_loan(values: dict[str, str], errors: Errors, products: Mapping[int, ProductSpec], bad) -> None:
    product = None
    if values["product_id"]:
        product = products.get(int(values["product_id"])) if values["product_id"].isdecimal() else None
        if product is None:
            bad("product_id", N_("Choose a loan type from the list."))
    if values["amount"] and "amount" not in errors:
        amount = Decimal(values["amount"])
        if product is not None and not product.min_amount <= amount <= product.max_amount:
            bad("amount", N_("The amount must be between %(min)s and %(max)s yuan for this loan type."),
                min=format_money(product.min_amount), max=format_money(product.max_amount))
        capitals = values["amount_in_capitals"]
        if capitals and "amount_in_capitals" not in errors:
            try:
                written = from_capitals(capitals)
            except AmountError as e:
                bad("amount_in_capitals", e.message, **e.params)
            else:
                if not amounts_agree(amount, capitals):
                    bad("amount_in_capitals", N_(
                        "The capitals say %(capitals)s yuan but the figures say %(figures)s yuan."
                        " They must agree: check the IOU."
                    ), capitals=format_money(written), figures=format_money(amount))
    if values["term_months"] and "term_months" not in errors and product is not None:
        term = int(values["term_months"])
        if not product.min_term <= term <= product.max_term:
            bad("term_months", N_("The term must be between %(min)s and %(max)s months for this loan type."),
                min=product.min_term, max=product.max_term)
