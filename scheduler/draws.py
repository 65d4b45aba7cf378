"""Jobs of the prize draws (scheduler/jobs.py registers them by kind; services/draws.py plans them).

- `draw.tell`: the announcement to one participant with the commitment and the closing time, when the
  draw is still announced and the client still linked, not blocked and agreeing to offers;
- `draw.close` (due at closes_at): the winner by the formula, the owner manager's reminder to hand over
  the prize and the two jobs below, all in the job's transaction (a second run finds it closed);
- `draw.publish`: the seed and the participants file to the admin who made the draw;
- `draw.winner`: the news to the winner, when reachable.

Every send is claimed in its own committed transaction right before it leaves, so a job retried after
a crash never sends the same message twice.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.sender import Delivery
from bot.views import draws as views
from models.clients import Client
from models.consent import Purpose
from models.draws import Draw, DrawStatus
from models.users import User
from scheduler.delivery import send_to
from scheduler.queue import JobContext, PermanentError, Retry
from services import consent, draws, reminders
from services.users import resolve_language

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.deps import Deps

log = logging.getLogger(__name__)

TELL = draws.TELL_JOB
CLOSE = draws.CLOSE_JOB
PUBLISH = draws.PUBLISH_JOB
WINNER = draws.WINNER_JOB


async def _the_draw(ctx: JobContext) -> Draw:
    try:
        draw_id = int(ctx.job.payload["draw_id"])
    except (KeyError, TypeError, ValueError):
        raise PermanentError("bad draw payload") from None
    draw = await ctx.session.get(Draw, draw_id)
    if draw is None:
        raise PermanentError("draw not found")
    return draw


def _locale(deps: Deps, user: User) -> str:
    return resolve_language(user, user.tg_language, deps.settings.default_language)


def _tz(deps: Deps, user: User) -> str:
    return user.timezone or deps.settings.default_timezone


async def _claimed(deps: Deps, claim: Callable[[AsyncSession], Awaitable[bool]]) -> bool:
    """Run a claim in its own transaction, committed before the send it guards."""
    async with deps.session_factory() as session, session.begin():
        return await claim(session)


async def tell(ctx: JobContext) -> str:
    deps = ctx.deps
    draw = await _the_draw(ctx)
    try:
        client_id = int(ctx.job.payload["client_id"])
    except (KeyError, TypeError, ValueError):
        raise PermanentError("bad draw payload") from None
    if draw.status != DrawStatus.announced:
        return "skipped"
    client = await ctx.session.get(Client, client_id)
    if client is None or client.merged_into_id is not None or client.telegram_id is None:
        return "not_linked"
    user = await ctx.session.get(User, client.telegram_id)
    if user is None or not user.reachable:
        return Delivery.blocked.value
    if not await consent.allowed(ctx.session, client.id, Purpose.marketing):
        return "no_consent"
    if not await _claimed(deps, lambda s: draws.claim_tell(s, draw.id, client_id, ctx.now)):
        return "already"
    locale = _locale(deps, user)
    with deps.i18n.context(), deps.i18n.use_locale(locale):
        text, markup = views.tell_text(draw, _tz(deps, user), locale), views.tell_markup(client.id)
    try:
        outcome = await send_to(ctx, user, text, markup)
    except PermanentError as e:
        log.warning("draw %s announcement to client %s refused by Telegram: %s", draw.id, client_id, e)
        outcome = "rejected"
    await draws.record_tell(ctx.session, draw.id, client_id, outcome)
    return outcome


async def close(ctx: JobContext) -> str:
    deps = ctx.deps
    draw = await _the_draw(ctx)
    if draw.status != DrawStatus.announced:
        return "skipped"
    if ctx.now < draw.closes_at:  # the closing time is the draw's, whatever woke the job
        raise Retry(draw.closes_at - ctx.now, "not closing time yet")
    closed = await draws.close(ctx.session, draw.id, ctx.now)
    if closed is None:
        return "skipped"
    client = closed.client
    owner = await ctx.session.get(User, client.owner_id) if client is not None else None
    if owner is None or not owner.is_staff:
        owner = await ctx.session.get(User, closed.draw.created_by)
    if owner is not None:
        locale = _locale(deps, owner)
        name = client.name if client is not None else f"#{closed.winner_id}"
        with deps.i18n.context(), deps.i18n.use_locale(locale):
            text = views.reminder_text(closed.draw, name)
        await reminders.create(
            ctx.session,
            owner.id,
            text,
            ctx.now,
            ctx.now,
            client_id=client.id if client is not None else None,
            created_by=closed.draw.created_by,
        )
    log.info("draw %s closed: client %s won (%d participants)", draw.id, closed.winner_id, draw.participants)
    return "closed"


async def publish(ctx: JobContext) -> str:
    deps = ctx.deps
    draw = await _the_draw(ctx)
    if draw.status != DrawStatus.closed or draw.seed is None:
        return "skipped"
    admin = await ctx.session.get(User, draw.created_by)
    if admin is None or not admin.reachable:
        return Delivery.blocked.value
    ids = await draws.participant_ids(ctx.session, draw.id)
    index = ids.index(draw.winner_client_id) if draw.winner_client_id in ids else 0
    winner_name = await draws.client_name(ctx.session, draw.winner_client_id)
    if not await _claimed(deps, lambda s: draws.claim_published(s, draw.id, ctx.now)):
        return "already"
    locale = _locale(deps, admin)
    with deps.i18n.context(), deps.i18n.use_locale(locale):
        text = views.result_text(draw, index, winner_name, _tz(deps, admin), locale)
        caption = views.file_caption(draw)
    outcome = await send_to(ctx, admin, text)
    if outcome != Delivery.sent.value:
        return outcome
    with tempfile.TemporaryDirectory(prefix="crm-draw-") as tmp:
        path = Path(tmp) / draws.file_name(draw)
        path.write_bytes(draws.participants_file(ids))
        result = await deps.sender.send_document(
            admin.id, path, draws.file_name(draw), caption, check_reachable=False
        )
    return result.value


async def winner(ctx: JobContext) -> str:
    deps = ctx.deps
    draw = await _the_draw(ctx)
    if draw.status != DrawStatus.closed or draw.winner_client_id is None:
        return "skipped"
    client = await draws.live_client(ctx.session, draw.winner_client_id)
    if client is None or client.telegram_id is None:
        return "not_linked"
    user = await ctx.session.get(User, client.telegram_id)
    if user is None or not user.reachable:
        return Delivery.blocked.value
    if not await _claimed(deps, lambda s: draws.claim_winner_told(s, draw.id, ctx.now)):
        return "already"
    locale = _locale(deps, user)
    with deps.i18n.context(), deps.i18n.use_locale(locale):
        text = views.winner_text(draw)
    try:
        return await send_to(ctx, user, text)
    except PermanentError as e:
        log.warning("draw %s: the winner's message refused by Telegram: %s", draw.id, e)
        return "rejected"
