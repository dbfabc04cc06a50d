"""Which roles one account may hold together, and where each role works. Pure: a table and two
functions, so the rules are read in one place and tested alone (tests/unit/test_staff_roles.py).

Segregation of duties (the workflow's per-application rule is app/domain/workflow.py; this one is
per account, so that nobody can even be given two duties that must stay apart):
- the cashier pays out: never also the one who captures (officer), approves (director), keys the
  data (clerk) or reviews (reviewer1, reviewer2, special_reviewer);
- the administrator makes accounts: he holds no workflow role (he could make himself a second reviewer);
- the accountant keeps the books (manual entries, closing, the chart): never also the cashier who
  moves the money, nor anyone who decides or captures a loan;
- the auditor checks everyone: he holds no other role.
Placement: officers and directors work at an office (not the head office); every headquarters role
works at the head office.
"""
from __future__ import annotations

from app.domain.i18n import N_

ROLES = ("officer", "director", "clerk", "reviewer1", "reviewer2", "special_reviewer", "cashier", "accountant", "admin", "auditor")
WORKFLOW_ROLES = frozenset({"officer", "director", "clerk", "reviewer1", "reviewer2", "special_reviewer", "cashier"})
OFFICE_ROLES = frozenset({"officer", "director"})
HEAD_OFFICE_ROLES = frozenset(ROLES) - OFFICE_ROLES
ROLE_LABELS = {
    "officer": N_("Loan officer"),
    "director": N_("Office director"),
    "clerk": N_("HQ data entry"),
    "reviewer1": N_("First-level reviewer"),
    "reviewer2": N_("Second-level reviewer"),
    "special_reviewer": N_("Special reviewer"),
    "cashier": N_("Cashier"),
    "accountant": N_("Accountant"),
    "admin": N_("Administrator"),
    "auditor": N_("Internal auditor"),
}

# role → the roles it may never be held with (the table is made symmetric below).
_APART: dict[str, frozenset[str]] = {
    "cashier": frozenset({"officer", "director", "clerk", "reviewer1", "reviewer2", "special_reviewer"}),
    "accountant": WORKFLOW_ROLES,
    "admin": WORKFLOW_ROLES,
    "auditor": frozenset(ROLES) - {"auditor"},
}
INCOMPATIBLE: frozenset[frozenset[str]] = frozenset(
    frozenset({role, other}) for role, others in _APART.items() for other in others
)


def role_problems(roles: set[str] | frozenset[str], head_office: bool | None) -> list[tuple[str, dict[str, object]]]:
    """What is wrong with giving these roles to an account of an office: [(N_ message, params)].
    ``head_office`` None: the office is not chosen (yet). Parameters are the roles' N_ labels."""
    problems: list[tuple[str, dict[str, object]]] = []
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        problems.append((N_("Unknown role: %(role)s."), {"role": ", ".join(unknown)}))
        return problems
    if not roles:
        problems.append((N_("Choose at least one role."), {}))
        return problems
    ordered = [r for r in ROLES if r in roles]
    for i, role in enumerate(ordered):
        for other in ordered[i + 1:]:
            if frozenset({role, other}) in INCOMPATIBLE:
                problems.append((N_("%(role)s and %(other)s cannot be held by one person (segregation of duties)."),
                                 {"role": ROLE_LABELS[role], "other": ROLE_LABELS[other]}))
    if head_office is None:
        problems.append((N_("Choose an office."), {}))
    elif head_office:
        for role in ordered:
            if role in OFFICE_ROLES:
                problems.append((N_("A %(role)s works at an office, not at the head office."), {"role": ROLE_LABELS[role]}))
    else:
        for role in ordered:
            if role in HEAD_OFFICE_ROLES:
                problems.append((N_("A %(role)s works at the head office."), {"role": ROLE_LABELS[role]}))
    return problems
