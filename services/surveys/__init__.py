"""Satisfaction surveys: CSAT (1–5), then NPS (0–10), then an optional comment.

Contract used by other services (kept while this module grows):
- after(session, trigger, client_id, manager_id, ref_id, now): something happened that may earn a survey;
  trigger is "contact" (a logged interaction), "purchase" or "deal_won".

Rules. A trigger plans a survey `delay` after the event when the admins have it on, the client is linked
to the bot, has said yes to surveys and had no survey in the last 14 days (nor one still planned). The
queued job (scheduler/surveys.py) checks again when it is due: the client is still linked (the recipient
is resolved then, never taken from the plan), still has consent, still no other survey in 14 days, and
it is daytime (10:00–20:00) in the customer's time zone — otherwise it runs again at the next 10:00.
A delivered survey takes answers for 7 days, only from the account it was sent to; each answer is saved
as it comes and only once. A low score (CSAT <= 3 or NPS <= 6) tells the client's owner at once and
gives them a follow-up reminder.

Nothing here imports aiogram; texts are rendered by bot/views/surveys.py.

The package, by section: rules (the numbers), triggers (the admins' settings), planning (after),
delivery (the job's side), answers (the customer's side), figures (/surveys). Every public name is also
importable from `services.surveys`, as other areas use it.
"""

from __future__ import annotations

from services.surveys.answers import Answer, FollowupText, answer, clean_comment, finish, is_low
from services.surveys.delivery import (
    Plan,
    claim,
    for_delivery,
    mark_delivered,
    mark_limited,
    wait_for_daytime,
    zone_of,
)
from services.surveys.figures import Figures, Stats, stats
from services.surveys.planning import after, job_key, recent_survey
from services.surveys.rules import (
    COMMENT_LIMIT,
    CSAT_SCORES,
    DAY_END,
    DAY_START,
    FOLLOWUP_AFTER,
    LIFETIME,
    LIMIT,
    LOW_CSAT,
    LOW_NPS,
    MANAGERS_PAGE,
    MAX_DELAY_MINUTES,
    NPS_SCORES,
    PERIODS,
    REJECTED,
    SEND_JOB,
)
from services.surveys.triggers import (
    TriggerSetting,
    parse_delay,
    set_delay,
    set_enabled,
    setting,
    settings,
    trigger_of,
)

__all__ = [
    "COMMENT_LIMIT",
    "CSAT_SCORES",
    "DAY_END",
    "DAY_START",
    "FOLLOWUP_AFTER",
    "LIFETIME",
    "LIMIT",
    "LOW_CSAT",
    "LOW_NPS",
    "MANAGERS_PAGE",
    "MAX_DELAY_MINUTES",
    "NPS_SCORES",
    "PERIODS",
    "REJECTED",
    "SEND_JOB",
    "Answer",
    "Figures",
    "FollowupText",
    "Plan",
    "Stats",
    "TriggerSetting",
    "after",
    "answer",
    "claim",
    "clean_comment",
    "finish",
    "for_delivery",
    "is_low",
    "job_key",
    "mark_delivered",
    "mark_limited",
    "parse_delay",
    "recent_survey",
    "set_delay",
    "set_enabled",
    "setting",
    "settings",
    "stats",
    "trigger_of",
    "wait_for_daytime",
    "zone_of",
]
