"""Mainland China mobile numbers, as borrowers give them and SMS gateways need them."""
from __future__ import annotations

import re

from app.domain.i18n import N_

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


class PhoneError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.params: dict[str, object] = {}


def normalise_mobile(raw: str) -> str:
    """Strip spaces, dashes and a +86/0086 prefix; raise PhoneError unless a valid mobile remains."""
    digits = re.sub(r"[\s\-()]", "", raw.translate(_FULLWIDTH))
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix):]
    if not _MOBILE.match(digits):
        raise PhoneError(N_("A mobile number has 11 digits and starts with 13–19."))
    return digits


_FULLWIDTH = str.maketrans("０１２３４５６７８９＋－", "0123456789+-")


def mask_mobile(number: str) -> str:
    """A phone number on a list screen: the first three and last four digits (138****5678), as ID
    numbers are masked; anything shorter than a mobile number shows its last two digits only."""
    digits = number.strip()
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 2, 0) + digits[-2:]
