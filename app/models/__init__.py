"""All models, imported here so Alembic and the app see one metadata."""
from app.models.android import AndroidRelease
from app.models.applications import Application, Photo, Screenshot, Transition
from app.models.audit import AuditLog
from app.models.credit import (
    BureauQuery,
    Guarantee,
    HouseholdSurvey,
    LiabilityGroup,
    PreApproval,
    ScorecardVersion,
    SurveyVersion,
    Village,
    VillageCampaign,
)
from app.models.field import FieldCollection, FieldDeposit
from app.models.ledger import Account, AccountDayTotal, AccountMapping, JournalEntry, JournalLine, LedgerBook, LedgerPeriod
from app.models.loans import Installment, JobRun, Loan, Repayment
from app.models.messaging import Notification, SmsMessage
from app.models.ocr import OcrRun
from app.models.org import (
    HQ_ROLES,
    ROLES,
    BlockedPhoneNumber,
    Device,
    EnrolmentCode,
    Office,
    User,
    UserRole,
)
from app.models.people import Borrower
from app.models.products import REPAYMENT_METHODS, CollectionItem, Holiday, Product, ProductVersion
from app.models.reports import LoanSnapshot, PortfolioSnapshot
from app.models.restructuring import LoanRestructuring
from app.models.settings import JobLock, Setting
from app.models.tasks import FollowUpTask, TaskPhoto, TrackPoint
from app.models.write_off import Recovery, WriteOffRequest

__all__ = [
    "AndroidRelease", "Application", "AuditLog", "BlockedPhoneNumber", "Borrower", "EnrolmentCode", "CollectionItem", "Device", "FollowUpTask",
    "HQ_ROLES", "Installment", "JobRun", "Loan", "Notification", "OcrRun", "Office", "Photo", "Product",
    "REPAYMENT_METHODS", "ROLES", "Repayment", "Screenshot", "SmsMessage", "TaskPhoto", "TrackPoint", "Transition",
    "User", "UserRole", "Account", "AccountDayTotal", "AccountMapping", "JournalEntry", "JournalLine", "LedgerBook",
    "LedgerPeriod", "FieldCollection", "FieldDeposit", "JobLock", "Setting", "Holiday", "ProductVersion", "LoanSnapshot", "PortfolioSnapshot",
    "Recovery", "WriteOffRequest", "LoanRestructuring", "BureauQuery", "Guarantee", "HouseholdSurvey",
    "LiabilityGroup", "PreApproval", "ScorecardVersion", "SurveyVersion", "Village", "VillageCampaign",
]
