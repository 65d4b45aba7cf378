"""Jobs planned by services/notify: a notice to one person (rendered in their language when it is
sent, consent checked again for a customer), and a person's command menu set to their role."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from bot import menus, notices
from bot.views.consent import with_unsubscribe
from models.consent import Purpose
from scheduler.delivery import recipient, send_to
from scheduler.queue import JobContext
from services import clients as clients_service
from services import consent
from services.errors import DomainError
from services.queue import PermanentError
from services.users import resolve_language

COMMANDS_SYNC = "commands.sync"  # services/notify.sync_commands


async def notify(ctx: JobContext) -> str:
    deps = ctx.deps
    user = await recipient(ctx)
    client_id = None
    if (purpose := ctx.job.payload.get("purpose")) is not None:
        client_id, refused = await _consented_client(ctx, user.id, purpose)
        if refused:
            return refused
    locale = resolve_language(user, user.tg_language, deps.settings.default_language)
    with deps.i18n.context(), deps.i18n.use_locale(locale):
        text, markup = _render(ctx)
        if purpose == Purpose.marketing and client_id is not None:  # every offer can be stopped in one tap
            markup = with_unsubscribe(markup, client_id)
    return await send_to(ctx, user, text, markup)


def _render(ctx: JobContext) -> tuple[str, InlineKeyboardMarkup | None]:
    try:
        return notices.render(ctx.job.payload["notice"], ctx.job.payload.get("params", {}))
    except LookupError as e:
        raise PermanentError(str(e)) from None


async def _consented_client(ctx: JobContext, user_id: int, purpose: str) -> tuple[int, str | None]:
    """A message to a customer for `purpose`: the client record it is about as it is now (a merge
    moves consent and link to the survivor), or why it must not go out."""
    try:
        client_id, purpose = int(ctx.job.payload["client_id"]), Purpose(purpose)
    except (KeyError, TypeError, ValueError):
        raise PermanentError("bad consent in payload") from None
    try:
        client = await clients_service._live(ctx.session, client_id)
    except DomainError:
        return client_id, "no_client"
    if client.telegram_id != user_id:  # unlinked (/forget) or linked to someone else since
        return client.id, "not_linked"
    if not await consent.allowed(ctx.session, client.id, purpose):
        return client.id, "no_consent"
    return client.id, None


async def commands_sync(ctx: JobContext) -> str:
    deps = ctx.deps
    user = await recipient(ctx)
    await menus.set_for_user(
        deps.bot, deps.i18n, user, deps.settings.default_language, deps.settings.webapp_url
    )
    return "done"
