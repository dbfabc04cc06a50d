"""The books' settings the accountant changes at run time: the provisioning rate of each five-category
class (贷款五级分类), stored as one row of the ``settings`` table (who and when on the row, every change
audited). Until one is set the defaults of ``app.domain.ledger.DEFAULT_PROVISION_RATES`` apply
(正常 1 %, 关注 2 %, 次级 25 %, 可疑 50 %, 损失 100 %). The month-end provisioning reads
``provision_rates()``.
"""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from app.domain import ledger as books
from app.domain.i18n import N_
from app.domain.repayment import CLASS_LABELS, CLASSES
from app.extensions import db
from app.models import Setting
from app.models.types import utcnow
from app.services import audit
from app.services.errors import ServiceError

PROVISION_RATES = "provision_rates"
HUNDRED = Decimal(100)


class LedgerSettingError(ServiceError):
    """A rate refused: the field it belongs to and why, nothing stored."""


def provision_rates() -> dict[str, Decimal]:
    """Each class's rate as a fraction (Decimal("0.25") for 25 %): the accountant's, else the default."""
    rates = dict(books.DEFAULT_PROVISION_RATES)
    row = db.session.get(Setting, PROVISION_RATES)
    if row is not None and row.value:
        try:
            stored = json.loads(row.value)
        except ValueError:
            stored = {}
        for cls, value in stored.items():
            if cls in rates:
                rates[cls] = Decimal(str(value))
    return rates


def percents(rates: dict[str, Decimal] | None = None) -> dict[str, str]:
    """The rates as the form shows them: per cent, without trailing zeros ("1", "2.5")."""
    rates = rates or provision_rates()
    return {cls: _plain(rates[cls] * HUNDRED) for cls in CLASSES}


def _plain(d: Decimal) -> str:
    text = f"{d.normalize():f}"
    return text


def parse_percents(form: dict[str, str]) -> dict[str, Decimal]:
    """Per-cent inputs per class → fractions; each a number from 0 to 100 with at most two decimals."""
    errors: dict[str, tuple[str, dict]] = {}
    rates: dict[str, Decimal] = {}
    for cls in CLASSES:
        raw = (form.get(cls) or "").strip().rstrip("%").strip()
        try:
            value = Decimal(raw)
            if not value.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors[cls] = (N_("%(cls)s: enter a rate in per cent, from 0 to 100."), {"cls": CLASS_LABELS[cls]})
            continue
        if value < 0 or value > HUNDRED or value != value.quantize(Decimal("0.01")):
            errors[cls] = (N_("%(cls)s: a rate is from 0 to 100 per cent, at most two decimals."), {"cls": CLASS_LABELS[cls]})
            continue
        rates[cls] = value / HUNDRED
    if errors:
        raise LedgerSettingError("invalid_rate", N_("Check the provisioning rates."), fields=errors)
    return rates


def set_provision_rates(form: dict[str, str], *, actor_id: int | None, ip: str = "") -> dict[str, Decimal]:
    """Store the rates given in per cent (validated 0–100 %); audited with the old and new rates; commits."""
    rates = parse_percents(form)
    before = provision_rates()
    value = json.dumps({cls: str(rates[cls]) for cls in CLASSES}, sort_keys=True)
    row = db.session.get(Setting, PROVISION_RATES)
    if row is None:
        row = Setting(key=PROVISION_RATES, value=value)
        db.session.add(row)
    row.value, row.updated_by_id, row.updated_at = value, actor_id, utcnow()
    audit.record("setting.changed", actor_id=actor_id, object_type="setting", ip=ip, key=PROVISION_RATES,
                 before={k: str(v) for k, v in before.items()}, after={k: str(v) for k, v in rates.items()})
    db.session.commit()
    return rates
