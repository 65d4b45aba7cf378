"""Every model module is imported here so that `Base.metadata` is complete (Alembic, tests)."""

from models import (  # noqa: F401  (their tables join Base.metadata)
    analytics,
    campaigns,
    customers,
    draws,
    export,
    followups,
    imports,
    loyalty,
    reports,
    segments,
    sequences,
    surveys,
)
from models.audit import AuditEvent
from models.base import Base
from models.clients import Client, ClientPhone, ClientSearchTerm, ClientStatus, ClientTag
from models.consent import ClientConsent, ConsentEvent, ConsentSource, Purpose
from models.deals import Deal, DealEvent
from models.fsm import FsmRecord
from models.interactions import Interaction, InteractionKind, InteractionOutcome
from models.invites import Invite, InviteKind
from models.jobs import Job, JobSend, JobStatus
from models.reminders import Reminder, ReminderStatus
from models.updates import ProcessedUpdate
from models.users import STAFF_ROLES, Role, User

__all__ = [
    "STAFF_ROLES",
    "AuditEvent",
    "Base",
    "Client",
    "ClientConsent",
    "ClientPhone",
    "ClientSearchTerm",
    "ClientStatus",
    "ClientTag",
    "ConsentEvent",
    "ConsentSource",
    "Deal",
    "DealEvent",
    "FsmRecord",
    "Interaction",
    "InteractionKind",
    "InteractionOutcome",
    "Invite",
    "InviteKind",
    "Job",
    "JobSend",
    "JobStatus",
    "ProcessedUpdate",
    "Purpose",
    "Reminder",
    "ReminderStatus",
    "Role",
    "User",
]
