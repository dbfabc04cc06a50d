"""The books: double entry in integer fen, the default chart of accounts, what each account is for.

Pure: no Flask, no database. ``app.services.ledger`` posts what this module has checked.

- An **account** has a code (科目编码), a name, a kind and a normal side. Off-balance accounts (表外)
  keep their own double entry and stay out of the balance sheet.
- A **role** says what an account is *for* (the loans' principal, interest receivable, cash by payment
  channel…); the institution maps each role to an account, for all products or for one product. The
  posting code names roles, never codes, so an institution's own chart needs no code change.
- An **entry** (凭证) is balanced lines: each line a debit or a credit in fen, never both, never
  negative; the debits equal the credits. A mistake is undone by a mirror entry, never a deletion.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.domain.i18n import N_

KINDS: dict[str, str] = {  # account kind → label; the balance sheet's and income statement's sections
    "asset": N_("Asset"),
    "liability": N_("Liability"),
    "equity": N_("Equity"),
    "income": N_("Income"),
    "expense": N_("Expense"),
    "off_balance": N_("Off-balance"),
}
SIDES = ("debit", "credit")

# Every role the posting code uses, with what it is for. "channel:<name>" roles are the money
# accounts of app.services.loans.CHANNELS (and the field collections' cash in transit).
ROLES: dict[str, str] = {
    "loan_principal": N_("Loans: principal outstanding"),
    "interest_receivable": N_("Interest receivable"),
    "penalty_receivable": N_("Penalty interest receivable"),
    "interest_income": N_("Interest income"),
    "penalty_income": N_("Penalty interest income"),
    "overpayment": N_("Overpayments held for borrowers"),
    "loan_loss_allowance": N_("Loan loss allowance"),
    "impairment_loss": N_("Impairment loss (provisioning expense)"),
    "recovery_income": N_("Recoveries of written-off loans"),
    "written_off_memo": N_("Written-off loans (off-balance)"),
    "written_off_contra": N_("Written-off loans, contra (off-balance)"),
    "field_shortfall": N_("Field collection shortfalls owed by officers"),
    "opening_balance": N_("Opening balances of loans taken over from earlier books"),
    "channel:cash": N_("Money: cash"),
    "channel:bank_transfer": N_("Money: bank transfer"),
    "channel:mobile_payment": N_("Money: mobile payment"),
    "channel:field": N_("Money: field collections in transit"),
}


@dataclass(frozen=True)
class ChartAccount:
    code: str
    name: str
    kind: str
    side: str  # the normal side: where the balance usually stands


# The default chart, after the Chinese chart of accounts for financial enterprises (金融企业会计科目).
DEFAULT_CHART: tuple[ChartAccount, ...] = (
    ChartAccount("1001", "库存现金", "asset", "debit"),
    ChartAccount("1002", "银行存款", "asset", "debit"),
    ChartAccount("1009", "在途现金（客户经理收款）", "asset", "debit"),
    ChartAccount("1132", "应收利息", "asset", "debit"),
    ChartAccount("1221", "其他应收款", "asset", "debit"),
    ChartAccount("1303", "贷款", "asset", "debit"),
    ChartAccount("1304", "贷款损失准备", "asset", "credit"),
    ChartAccount("2241", "其他应付款", "liability", "credit"),
    ChartAccount("4001", "实收资本", "equity", "credit"),
    ChartAccount("4103", "本年利润", "equity", "credit"),
    ChartAccount("4104", "利润分配", "equity", "credit"),
    ChartAccount("6011", "利息收入", "income", "credit"),
    ChartAccount("6013", "罚息收入", "income", "credit"),
    ChartAccount("6301", "营业外收入", "income", "credit"),
    ChartAccount("6701", "资产减值损失", "expense", "debit"),
    ChartAccount("6602", "业务及管理费", "expense", "debit"),
    ChartAccount("7001", "已核销贷款", "off_balance", "debit"),
    ChartAccount("7002", "已核销贷款对应科目", "off_balance", "credit"),
)

DEFAULT_MAPPING: dict[str, str] = {
    "loan_principal": "1303",
    "interest_receivable": "1132",
    "penalty_receivable": "1132",
    "interest_income": "6011",
    "penalty_income": "6013",
    "overpayment": "2241",
    "loan_loss_allowance": "1304",
    "impairment_loss": "6701",
    "recovery_income": "6301",
    "written_off_memo": "7001",
    "written_off_contra": "7002",
    "field_shortfall": "1221",
    "opening_balance": "4104",
    "channel:cash": "1001",
    "channel:bank_transfer": "1002",
    "channel:mobile_payment": "1002",
    "channel:field": "1009",
}

# Provisioning (贷款损失准备) by five-category class: the allowance is adjusted to outstanding
# principal x the class's rate at month end. Editable (app settings); these are the defaults.
DEFAULT_PROVISION_RATES: dict[str, Decimal] = {
    "normal": Decimal("0.01"),
    "special_mention": Decimal("0.02"),
    "substandard": Decimal("0.25"),
    "doubtful": Decimal("0.50"),
    "loss": Decimal("1.00"),
}

# What kind of event an entry records (journal_entries.kind) → its label and default summary (摘要).
ENTRY_KINDS: dict[str, str] = {
    "opening": N_("Opening balance"),
    "disbursement": N_("Loan disbursed"),
    "repayment": N_("Repayment"),
    "repayment_reversal": N_("Repayment reversed"),
    "reallocation": N_("Repayments re-allocated"),
    "accrual": N_("Interest accrued"),
    "penalty_accrual": N_("Penalty interest accrued"),
    "disbursement_undone": N_("Disbursement undone"),
    "restructure": N_("Loan restructured"),
    "write_off": N_("Loan written off"),
    "recovery": N_("Recovery after write-off"),
    "provision": N_("Loan loss provision"),
    "field_deposit": N_("Field collections deposited"),
    "field_shortfall": N_("Field collection shortfall"),
    "manual": N_("Manual entry"),
    "reversal": N_("Entry reversed"),
}


class Unbalanced(ValueError):
    """The debits and the credits differ, or a line is not a single positive amount."""


@dataclass(frozen=True)
class Line:
    """One line of an entry: an account (by role or by code), a debit or a credit in fen.

    ``account`` is a role of ROLES ("loan_principal", "channel:cash"…) or an account code ("1303");
    ``app.services.ledger.post`` resolves roles through the institution's mapping."""

    account: str
    debit: int = 0
    credit: int = 0

    def mirrored(self) -> Line:
        return Line(self.account, debit=self.credit, credit=self.debit)


def check_balanced(lines: Sequence[Line]) -> int:
    """The entry's total (fen); raises Unbalanced when it is empty, when a line is not exactly one
    positive integer amount, or when debits and credits differ."""
    if not lines:
        raise Unbalanced("an entry needs lines")
    debit = credit = 0
    for line in lines:
        for amount in (line.debit, line.credit):
            if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
                raise Unbalanced(f"amounts are non-negative integer fen: {line!r}")
        if (line.debit == 0) == (line.credit == 0):
            raise Unbalanced(f"a line is a debit or a credit, not both nor neither: {line!r}")
        debit += line.debit
        credit += line.credit
    if debit != credit:
        raise Unbalanced(f"debits {debit} != credits {credit}")
    return debit


def net(lines: Iterable[Line]) -> list[Line]:
    """Lines of one account netted to one line each (debit minus credit), zero lines dropped, in
    first-seen order: what a computed difference posts."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.account] = totals.get(line.account, 0) + line.debit - line.credit
    return [Line(a, debit=v) if v > 0 else Line(a, credit=-v) for a, v in totals.items() if v]


def lines_from_deltas(deltas: dict[str, int]) -> list[Line]:
    """Signed changes per account (+ debit, - credit) as lines; zero changes dropped."""
    return [Line(a, debit=v) if v > 0 else Line(a, credit=-v) for a, v in deltas.items() if v]


def balance_of(side: str, debit: int, credit: int) -> int:
    """An account's balance on its normal side (a credit-side account's credits minus its debits)."""
    return debit - credit if side == "debit" else credit - debit


def provision_target(principal_by_class: dict[str, int], rates: dict[str, Decimal]) -> int:
    """The allowance the loans need (fen): each class's principal x its rate, half up, summed."""
    total = Decimal(0)
    for cls, fen in principal_by_class.items():
        total += Decimal(fen) * rates.get(cls, Decimal(0))
    return int(total.quantize(Decimal(1), rounding="ROUND_HALF_UP"))


def period_of(day) -> str:
    """The accounting period (month) of a date, as "YYYY-MM"."""
    return f"{day.year:04d}-{day.month:02d}"
