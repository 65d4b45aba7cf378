"""Every job kind and the handler that runs it: the one place the queue's registry is filled.

A handler lives beside its domain (scheduler/<domain>.py) and takes a `JobContext`; every proactive
message leaves through `ctx.deps.sender`. A new kind is one line here.
"""

from __future__ import annotations

from scheduler import (
    analytics,
    deals,
    digest,
    draws,
    export,
    followups,
    imports,
    loyalty,
    notify,
    reminders,
    surveys,
    updates,
)
from scheduler import campaigns as campaign_jobs
from scheduler import reports as reports_jobs
from scheduler import sequences as sequence_jobs
from scheduler.queue import JobRegistry
from services import reminders as reminders_service
from services import surveys as surveys_service
from services.notify import NOTIFY


def build_registry() -> JobRegistry:
    registry = JobRegistry()
    registry.add(NOTIFY, notify.notify)
    registry.add(notify.COMMANDS_SYNC, notify.commands_sync)
    registry.add(digest.ADMIN_DIGEST, digest.admin_digest)
    registry.add(deals.DEAL_NUDGE, deals.deal_nudge)
    registry.add(reminders_service.REMINDER_JOB, reminders.reminder)
    registry.add(loyalty.DAILY, loyalty.daily)
    registry.add(loyalty.EXPIRE, loyalty.expire)
    registry.add(loyalty.BIRTHDAY, loyalty.birthday)
    registry.add(surveys_service.SEND_JOB, surveys.survey_send)
    registry.add(updates.CLEANUP, updates.cleanup)
    registry.add(imports.READ, imports.read_file)
    registry.add(imports.CHECK, imports.check)
    registry.add(imports.APPLY, imports.apply)
    registry.add(imports.CLEANUP, imports.cleanup)
    registry.add(analytics.NIGHTLY, analytics.nightly)
    registry.add(analytics.MANUAL, analytics.manual)
    registry.add(reports_jobs.ROLLUP, reports_jobs.reports_rollup)
    registry.add(export.EXPORT, export.export_run)
    registry.add(draws.TELL, draws.tell)
    registry.add(draws.CLOSE, draws.close)
    registry.add(draws.PUBLISH, draws.publish)
    registry.add(draws.WINNER, draws.winner)
    registry.add(followups.DIGEST, followups.followup_digest)
    registry.add(followups.ESCALATION, followups.followup_escalation)
    registry.add(campaign_jobs.STEP, campaign_jobs.step)
    registry.add(sequence_jobs.SEND, sequence_jobs.send_step)
    return registry


registry = build_registry()
