"""Jobs of the surveys domain (scheduler/jobs.py registers them by kind).

`survey.send` (planned by services/surveys.after): every rule is checked again when it is due — the
client still linked (the recipient is resolved now), the trigger still on, no other survey in 14 days,
survey consent — and it waits for daytime (10:00–20:00) in the customer's time zone with Retry, which
isn't a failed attempt. It leaves through deps.sender; a 403 (blocked, chat gone) and a request
Telegram refuses for good (PermanentError, e.g. 400 bad request) are recorded as not delivered, so the
survey leaves "sending" and doesn't count toward the client's 14-day limit.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.views import surveys as survey_views
from scheduler.delivery import send_to
from scheduler.queue import JobContext, PermanentError, Retry
from services import surveys as surveys_service
from services.users import SUPPORTED_LANGUAGES, resolve_language

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)


async def survey_send(ctx: JobContext) -> str:
    deps: Deps = ctx.deps
    try:
        survey_id = int(ctx.job.payload["survey_id"])
    except (KeyError, TypeError, ValueError):
        raise PermanentError("bad survey payload") from None
    plan = await surveys_service.for_delivery(ctx.session, survey_id, ctx.now, deps.settings.default_timezone)
    if plan.wait is not None:
        raise Retry(plan.wait, "night for the customer: sent at the next 10:00 local")
    if plan.skip is not None or plan.survey is None or plan.client is None or plan.chat_id is None:
        return plan.skip or "skipped"
    survey, client, user = plan.survey, plan.client, plan.user
    default = deps.settings.default_language
    if user is not None:
        locale = resolve_language(user, user.tg_language, default)
    else:
        locale = client.language if client.language in SUPPORTED_LANGUAGES else default
    if not await surveys_service.claim(deps.session_factory, survey.id, client.id, ctx.now):
        surveys_service.mark_limited(survey)  # another survey of this client went out meanwhile
        return "limit"
    await ctx.session.refresh(survey)  # as claimed (status "sending", sent_at), so every change is saved
    with deps.i18n.context(), deps.i18n.use_locale(locale):
        text, markup = survey_views.csat_question(survey)
    try:
        if user is not None:
            outcome = await send_to(ctx, user, text, markup)
        else:  # linked but never wrote to the bot: the sender finds out whether the chat is open
            outcome = (await deps.sender.send(plan.chat_id, text, markup)).value
    except PermanentError as e:  # Telegram will never accept it: not delivered, not retried
        log.warning("survey %s refused by Telegram: %s", survey.id, e)
        outcome = surveys_service.REJECTED
    surveys_service.mark_delivered(survey, plan.chat_id, outcome, ctx.now)
    return outcome
