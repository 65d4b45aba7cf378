"""/draws: the list of prize draws, one draw (its commitment, and once closed the seed, the winner and
how to check it), the steps of a new draw, and the messages the draw's jobs send (the announcement to a
participant, the result to the admin, the news to the winner, the owner's reminder).

Prizes and segment and client names are what people typed: escaped with `h` in messages.
"""

from __future__ import annotations

from datetime import datetime

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import DrawAction, DrawCb
from bot.formatting import local_dt
from bot.keyboards import label
from bot.messages import error_text
from bot.text import h
from bot.views import saved_segments
from bot.views.consent import with_unsubscribe
from models.draws import Draw, DrawStatus
from services.errors import DomainError
from services.segments.saved import ListPage

FORMULA = "participants[int(sha256(seed).hexdigest(), 16) % n]"


def status_name(status: DrawStatus) -> str:
    return {
        DrawStatus.draft: _("draft, not announced"),
        DrawStatus.announced: _("announced"),
        DrawStatus.closed: _("closed"),
        DrawStatus.cancelled: _("cancelled"),
    }[status]


def _when(value: datetime, tz: str, locale: str) -> str:
    return local_dt(value, tz, locale)


# --- the list ---


def list_text(items: list[Draw], tz: str, locale: str, note: str = "") -> str:
    lines = [note, ""] if note else []
    lines.append(_("🎁 <b>Prize draws</b>"))
    if not items:
        lines.append(
            _("No draws yet. Press «➕ New draw»: pick a saved segment, the prize and the closing time.")
        )
    for d in items:
        lines.append(
            _("#{id} {prize} — {status}, closes {when}").format(
                id=d.id, prize=h(d.prize), status=status_name(d.status), when=_when(d.closes_at, tz, locale)
            )
        )
    return "\n".join(lines)


def list_keyboard(items: list[Draw], page: int, has_next: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for d in items:
        kb.button(text=label(f"🎁 #{d.id} {d.prize}"), callback_data=DrawCb(action=DrawAction.open, id=d.id))
    nav = 0
    if page > 0:
        kb.button(text="◀️", callback_data=DrawCb(action=DrawAction.list, page=page - 1))
        nav += 1
    if has_next:
        kb.button(text="▶️", callback_data=DrawCb(action=DrawAction.list, page=page + 1))
        nav += 1
    kb.button(text=_("➕ New draw"), callback_data=DrawCb(action=DrawAction.new))
    kb.adjust(*([1] * len(items)), *([nav] if nav else []), 1)
    return kb.as_markup()


# --- one draw ---


def draw_text(
    d: Draw,
    tz: str,
    locale: str,
    *,
    told: dict[str, int] | None = None,
    winner_name: str | None = None,
    note: str = "",
) -> str:
    lines = [note, ""] if note else []
    lines += [
        _("🎁 <b>Draw #{id}</b>: {prize}").format(id=d.id, prize=h(d.prize)),
        _("Among: the segment «{name}»").format(name=h(d.segment_name)),
        _("Status: {status}").format(status=status_name(d.status)),
        _("Closes: {when}").format(when=_when(d.closes_at, tz, locale)),
    ]
    if d.status in (DrawStatus.announced, DrawStatus.closed) or d.commitment:
        lines.append(_("Participants: {n}").format(n=d.participants))
    if d.commitment:
        lines.append(
            _("Commitment (SHA-256 of the secret seed): <code>{hash}</code>").format(hash=d.commitment)
        )
    if told is not None and d.commitment:
        sent = told.get("sent", 0)
        lines.append(
            _("Told about it: {sent}; not delivered: {failed}").format(
                sent=sent, failed=sum(told.values()) - sent
            )
        )
    if d.status == DrawStatus.closed and d.seed:
        lines += [
            _("Seed: <code>{seed}</code>").format(seed=d.seed),
            _("🏆 Winner: {name} (client #{id})").format(
                name=h(winner_name or _("a removed client")), id=d.winner_client_id
            ),
            _(
                "Anyone can check: SHA-256 of the seed is the commitment, and the winner is "
                "<code>{formula}</code> over the participants file (client ids sorted, one per line)."
            ).format(formula=FORMULA),
        ]
    return "\n".join(lines)


def draw_keyboard(d: Draw) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if d.status == DrawStatus.draft:
        kb.button(
            text=_("📣 Announce"), callback_data=DrawCb(action=DrawAction.announce, id=d.id, v=d.version)
        )
    if d.status in (DrawStatus.announced, DrawStatus.closed):
        kb.button(text=_("📄 Participants"), callback_data=DrawCb(action=DrawAction.file, id=d.id))
    if d.status in (DrawStatus.draft, DrawStatus.announced):
        kb.button(
            text=_("✖ Cancel the draw"), callback_data=DrawCb(action=DrawAction.cancel, id=d.id, v=d.version)
        )
    kb.button(text=_("⬅️ All draws"), callback_data=DrawCb(action=DrawAction.list))
    kb.adjust(1)
    return kb.as_markup()


def announced_note(participants: int, told: int, unreachable: int) -> str:
    return _(
        "📣 Announced among {n} participants: {told} of them are being told now, {unreachable} can't be "
        "reached (not linked to the bot, blocked it, or no consent to offers)."
    ).format(n=participants, told=told, unreachable=unreachable)


def cancel_text(d: Draw) -> str:
    return _("Call off the draw #{id} «{prize}»? Nobody will win it.").format(id=d.id, prize=h(d.prize))


def cancel_keyboard(d: Draw) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("✖ Yes, call it off"), callback_data=DrawCb(action=DrawAction.drop, id=d.id, v=d.version)
    )
    kb.button(text=_("⬅️ Back"), callback_data=DrawCb(action=DrawAction.open, id=d.id))
    kb.adjust(1)
    return kb.as_markup()


def cancelled_note() -> str:
    return _("✖ The draw is called off.")


def file_caption(d: Draw) -> str:
    return _("📄 Participants of the draw #{id}: {n} client ids, sorted, one per line.").format(
        id=d.id, n=d.participants
    )


def no_file() -> str:
    return _("The participants are fixed when the draw is announced.")


# --- a new draw ---


def segments_text(page: ListPage) -> str:
    if not page.items:
        return _("No saved segments yet. Save one in /segments first: a draw is among a segment's clients.")
    return _("🎁 <b>New draw</b>\nAmong whom? Pick a saved segment.")


def segments_keyboard(page: ListPage) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for seg in page.items:
        kb.button(text=label(f"🎯 {seg.name}"), callback_data=DrawCb(action=DrawAction.segment, id=seg.id))
    nav = 0
    if page.page > 0:
        kb.button(text="◀️", callback_data=DrawCb(action=DrawAction.new, page=page.page - 1))
        nav += 1
    if page.has_next:
        kb.button(text="▶️", callback_data=DrawCb(action=DrawAction.new, page=page.page + 1))
        nav += 1
    kb.button(text=_("⬅️ All draws"), callback_data=DrawCb(action=DrawAction.list))
    kb.adjust(*([1] * len(page.items)), *([nav] if nav else []), 1)
    return kb.as_markup()


def prize_prompt(segment_name: str, clients: int, limit: int) -> str:
    return _(
        "Among the segment «{name}» (clients now: {n}).\nType the prize (at most {limit} characters)."
    ).format(name=h(segment_name), n=clients, limit=limit)


def closing_prompt(tz: str) -> str:
    return _(
        "When does the draw close? Type a time, for example: tomorrow 18:00, in 3 days, 25.12 12:00 "
        "(your time zone: {tz})."
    ).format(tz=h(tz))


def draft_note() -> str:
    return _("Check the draw and press «📣 Announce»: the participants are fixed then and told about it.")


def dialog_over() -> str:
    return _("This draft is over. Send /draws to begin again.")


# --- the messages the jobs send ---


def tell_text(d: Draw, tz: str, locale: str) -> str:
    return "\n".join(
        [
            _("🎁 You are taking part in a prize draw: <b>{prize}</b>.").format(prize=h(d.prize)),
            _("The winner is drawn on {when}.").format(when=_when(d.closes_at, tz, locale)),
            _("Our commitment, the SHA-256 of the secret seed: <code>{hash}</code>").format(
                hash=d.commitment or ""
            ),
            _(
                "When the draw closes we publish the seed and the list of participants: anyone can check "
                "the seed against this hash and recompute the winner."
            ),
        ]
    )


def tell_markup(client_id: int) -> InlineKeyboardMarkup:
    return with_unsubscribe(None, client_id)


def result_text(d: Draw, index: int, winner_name: str | None, tz: str, locale: str) -> str:
    return "\n".join(
        [
            _("🏁 <b>Draw #{id} closed</b>: {prize}").format(id=d.id, prize=h(d.prize)),
            _("Participants: {n}").format(n=d.participants),
            _("Seed: <code>{seed}</code>").format(seed=d.seed or ""),
            _("Commitment published on {when}: <code>{hash}</code>").format(
                when=_when(d.announced_at or d.closes_at, tz, locale), hash=d.commitment or ""
            ),
            _("🏆 Winner: {name} (client #{id}), line {line} of the file.").format(
                name=h(winner_name or _("a removed client")), id=d.winner_client_id, line=index + 1
            ),
            _("The winner is <code>{formula}</code> over the file below (n = {n}).").format(
                formula=FORMULA, n=d.participants
            ),
            _("The owner manager has a reminder to hand over the prize."),
        ]
    )


def winner_text(d: Draw) -> str:
    return _(
        "🎉 You won the prize draw: <b>{prize}</b>! Your manager will contact you to hand it over."
    ).format(prize=h(d.prize))


def reminder_text(d: Draw, client_name: str) -> str:
    """Plain text (the reminder view escapes it)."""
    return _("🎁 Hand over the prize «{prize}» to {name}: they won the draw #{id}.").format(
        prize=d.prize, name=client_name, id=d.id
    )


# --- answers ---


def error(e: DomainError) -> str:
    if e.code.startswith("segment_"):  # the draft's segment can't be read any more
        return saved_segments.error(e)
    p = e.params
    texts = {
        "not_found": _("This draw no longer exists."),
        "draw_changed": _(
            "This draw was changed meanwhile (announced, closed or called off). Here it is now."
        ),
        "draw_empty": _(
            "Nobody is in this segment now: a draw needs at least one participant. Pick another segment."
        ),
        "draw_segment_gone": _("The segment of this draft was deleted. Call it off and make a new draw."),
        "draw_prize_empty": _("The prize can't be empty. Type the prize."),
        "draw_prize_long": _(
            "The prize is too long: {length} characters, at most {limit}. Type it shorter."
        ).format(length=p.get("length", "?"), limit=p.get("limit", "?")),
        "time_past": _(
            "⌛ That time has already passed: the draw must close in the future. "
            "For example: tomorrow 18:00, in 3 days."
        ),
    }
    return texts.get(e.code) or error_text(e)


def closing_passed() -> str:
    return _("⌛ The closing time of this draft has passed. Call it off and make a new draw.")


def stale_button() -> str:
    return _("This button is no longer valid. Send /draws to begin again.")
