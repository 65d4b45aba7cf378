"""Every model module is imported here so that `Base.metadata` is complete (Alembic, tests)."""

from models.audit import AuditEvent
from models.base import Base
from models.fsm import FsmRecord
from models.invites import Invite, InviteKind
from models.jobs import Job, JobStatus
from models.users import STAFF_ROLES, Role, User

__all__ = [
    "STAFF_ROLES",
    "AuditEvent",
    "Base",
    "FsmRecord",
    "Invite",
    "InviteKind",
    "Job",
    "JobStatus",
    "Role",
    "User",
]
