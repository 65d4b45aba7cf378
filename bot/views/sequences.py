"""Drip sequences: /sequences (the list, a sequence with its steps and per-step figures, the builder's
prompts and buttons, a step's screen with its links, texts and Delete), the message a recipient gets
(its link buttons, the tracked button and Unsubscribe, as a broadcast's), and the client's drip panel
opened from the card (current enrolments with their next step, Stop, Enrol).

What people typed (names, tags, link labels) is escaped; the step texts are the composer's Telegram
HTML, shown escaped on the builder's screens."""

from __future__ import annotations

from collections.abc import Sequence as Seq

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import CardAction, ClientCb, SequenceAction, SequenceCb
from bot.formatting import local_dt
from bot.keyboards import LANGUAGE_NAMES
from bot.text import h
from bot.views import campaigns as campaign_views
from bot.views.consent import with_unsubscribe
from bot.views.deals import stage_name
from models.clients import Client
from models.segments import SavedSegment
from models.sequences import Sequence, SequenceStep, Trigger
from services.campaigns.texts import MAX_BUTTONS
from services.errors import DomainError
from services.sequences.build import CardEnrolment, StepFigures
from services.users import SUPPORTED_LANGUAGES

TRIGGERS = (Trigger.manual, Trigger.linked, Trigger.tag, Trigger.stage, Trigger.segment)
DELAYS = (0, 30, 6 * 60, 24 * 60, 2 * 24 * 60, 7 * 24 * 60)  # the delay buttons, minutes


def _button(text: str, action: SequenceAction, id_: int = 0, arg: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=SequenceCb(action=action, id=id_, arg=arg).pack())


def error(e: DomainError) -> str:
    p = e.params
    texts = {
        "sequence_delay_invalid": _(
            "I didn't understand the delay. Type it like 2d, 6h, 30m or 1d 12h (0: at once), "
            "or press a button."
        ),
        "sequence_delay_long": _("Too long: at most {days} days.").format(days=p.get("days", "?")),
        "sequence_name_empty": _("The name is empty. Type a name for the sequence."),
        "sequence_name_long": _("The name is too long: at most {limit} characters.").format(
            limit=p.get("limit", "?")
        ),
        "sequence_name_taken": _("There is already a sequence with this name. Type another one."),
        "sequence_steps_full": _("A sequence has at most {limit} steps.").format(limit=p.get("limit", "?")),
        "sequence_tag_invalid": _("Type one tag, like: vip"),
        "sequence_active": _("Deactivate the sequence first to change its trigger."),
        "sequence_already_active": _("It is already active."),
        "sequence_already_inactive": _("It is already inactive."),
        "sequence_no_steps": _("Add at least one step first."),
        "sequence_segment_gone": _("Its segment has been deleted. Choose another trigger."),
        "sequence_not_active": _("This sequence isn't active."),
        "sequence_client_not_linked": _("This client isn't in the bot yet: nothing can be sent to them."),
        "sequence_enrolled_already": _("This client is already in this sequence."),
        "sequence_stopped_already": _("This sequence has already stopped for this client."),
        "deal_bad_stage": _("There is no such stage."),
        "sequence_step_sending": _("This step is being sent right now. Try again in a minute."),
    }
    return texts.get(e.code) or campaign_views.error(e)


def delay_text(minutes: int) -> str:
    if minutes == 0:
        return _("at once")
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(_("{n} d").format(n=days))
    if hours:
        parts.append(_("{n} h").format(n=hours))
    if mins:
        parts.append(_("{n} min").format(n=mins))
    return " ".join(parts)


def trigger_text(sequence: Sequence, segment_name: str | None = None) -> str:
    if sequence.trigger == Trigger.linked:
        return _("the customer links their account to the bot")
    if sequence.trigger == Trigger.tag:
        return _("the tag #{tag} is added").format(tag=h(sequence.trigger_arg or "?"))
    if sequence.trigger == Trigger.stage:
        return _("a deal enters the stage «{stage}»").format(stage=h(stage_name(sequence.trigger_arg or "?")))
    if sequence.trigger == Trigger.segment:
        return _("the client enters the segment «{name}»").format(name=h(segment_name or "?"))
    return _("by hand from the client card only")


def trigger_label(trigger: Trigger) -> str:
    return {
        Trigger.manual: _("✋ By hand only"),
        Trigger.linked: _("📲 Account linked"),
        Trigger.tag: _("🏷 Tag added"),
        Trigger.stage: _("💼 Deal enters a stage"),
        Trigger.segment: _("🎯 Enters a segment"),
    }[trigger]


# --- the list ---


def list_text(sequences: Seq[Sequence]) -> str:
    if not sequences:
        return _(
            "📨 <b>Drip sequences</b>\n\nNone yet. A sequence is a chain of messages sent one after another."
        )
    return _("📨 <b>Drip sequences</b>\n\nChoose one, or make a new one.")


def list_keyboard(sequences: Seq[Sequence]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for s in sequences:
        mark = "🟢" if s.active else "⚪️"
        kb.row(_button(f"{mark} {s.name}", SequenceAction.open, s.id))
    kb.row(_button(_("➕ New sequence"), SequenceAction.new))
    return kb.as_markup()


def name_prompt() -> str:
    return _("Type a name for the new sequence (at most 60 characters).")


# --- a sequence ---


def sequence_text(
    sequence: Sequence, figures: Seq[StepFigures], enrolments: dict[str, int], segment_name: str | None
) -> str:
    status = _("🟢 active") if sequence.active else _("⚪️ inactive")
    lines = [
        f"📨 <b>{h(sequence.name)}</b> · {status}",
        _("Starts when: {trigger}").format(trigger=trigger_text(sequence, segment_name)),
        _("In it now: {active} · finished: {done} · stopped: {stopped}").format(
            active=enrolments.get("active", 0),
            done=enrolments.get("done", 0),
            stopped=enrolments.get("stopped", 0),
        ),
        "",
    ]
    if not figures:
        lines.append(_("No steps yet. Add the first one."))
    for f in figures:
        s = f.step
        languages = ", ".join(LANGUAGE_NAMES.get(code, code) for code in s.texts)
        after = (
            _("first, {delay} after enrolment") if s.position == 1 else _("{delay} after the previous one")
        )
        lines.append(
            _("<b>{n}.</b> {after} · {languages}").format(
                n=s.position, after=after.format(delay=delay_text(s.delay_minutes)), languages=languages
            )
            + (" · 🙋" if s.interested else "")
        )
        preview = (s.texts.get(sequence.default_language) or next(iter(s.texts.values()), ""))[:80]
        media = {"photo": "🖼 ", "document": "📎 "}.get(s.media_kind or "", "")
        links = " · " + _("🔗 {n} links").format(n=len(s.buttons)) if s.buttons else ""
        lines.append(f"   {media}<i>{h(preview)}</i>{links}")
        line = _("   ✉️ Sent: {sent} · 🙋 Clicked: {clicked} · ⏹ Stopped after it: {stopped}").format(
            sent=f.sent, clicked=f.clicked, stopped=f.stopped_after
        )
        if f.waiting_cap:
            line += " · " + _("⏳ Waiting for the weekly limit: {n}").format(n=f.waiting_cap)
        lines.append(line)
    return "\n".join(lines)


def sequence_keyboard(sequence: Sequence, steps: Seq[SequenceStep]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.row(
        _button(_("➕ Add step"), SequenceAction.step, sequence.id),
        _button(_("🎯 Trigger"), SequenceAction.trigger, sequence.id),
    )
    for s in steps:
        label = (
            _("🙋 Step {n}: remove the button") if s.interested else _('🙋 Step {n}: add "I\'m interested"')
        )
        kb.row(
            _button(label.format(n=s.position), SequenceAction.interest, sequence.id, s.id),
            _button(_("✏️ Step {n}").format(n=s.position), SequenceAction.edit, sequence.id, s.id),
        )
    kb.row(_button(_("✏️ Rename"), SequenceAction.rename, sequence.id))
    if sequence.active:
        kb.row(_button(_("⏸ Deactivate"), SequenceAction.off, sequence.id))
    else:
        kb.row(_button(_("▶️ Activate"), SequenceAction.on, sequence.id))
    kb.row(_button(_("« All sequences"), SequenceAction.list))
    return kb.as_markup()


def delay_prompt(sequence: Sequence, first: bool) -> tuple[str, InlineKeyboardMarkup]:
    text = (
        _("How long after enrolment does the first message go? Press a button or type it, like 2d, 6h, 30m.")
        if first
        else _(
            "How long after the previous message does this one go? Press a button or type it, "
            "like 2d, 6h, 30m."
        )
    )
    kb = InlineKeyboardBuilder()
    buttons = [_button(delay_text(m), SequenceAction.delay, sequence.id, m) for m in DELAYS]
    kb.row(*buttons[:3])
    kb.row(*buttons[3:])
    return text, kb.as_markup()


def text_prompt(language: str, minutes: int) -> str:
    return _(
        "Delay: {delay}.\n\nType the message in {language}, or send a photo or a document with it as "
        "the caption. {hint}"
    ).format(
        delay=delay_text(minutes),
        language=LANGUAGE_NAMES.get(language, language),
        hint=campaign_views.placeholders_hint(),
    )


def other_prompt(sequence: Sequence, language: str) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "Now the same message in {language}, for those who read the bot in it (or Skip: they get the "
        "{default} one)."
    ).format(
        language=LANGUAGE_NAMES.get(language, language),
        default=LANGUAGE_NAMES.get(sequence.default_language, sequence.default_language),
    )
    kb = InlineKeyboardBuilder()
    kb.row(_button(_("Skip"), SequenceAction.skip, sequence.id))
    return text, kb.as_markup()


def step_text(sequence: Sequence, step: SequenceStep) -> str:
    """A step's screen: its delay, its photo or document, its texts (as typed) and link buttons."""
    after = _("first, {delay} after enrolment") if step.position == 1 else _("{delay} after the previous one")
    lines = [
        _("📨 {name} · <b>step {n}</b>").format(name=h(sequence.name), n=step.position),
        after.format(delay=delay_text(step.delay_minutes)),
    ]
    if step.media_kind == "photo":
        lines.append(_("🖼 With a photo; the texts are its caption."))
    elif step.media_kind == "document":
        lines.append(_("📎 With a document; the texts are its caption."))
    for code in SUPPORTED_LANGUAGES:
        text = (step.texts or {}).get(code)
        shown = (
            h(text)
            if text
            else _("— (the {default} one is sent)").format(
                default=LANGUAGE_NAMES.get(sequence.default_language, sequence.default_language)
            )
        )
        lines += ["", f"{LANGUAGE_NAMES.get(code, code)}:", shown]
    if step.buttons:
        lines.append("")
        lines += [f"🔗 {h(label)} → {h(url)}" for label, url in step.buttons]
    return "\n".join(lines)


def step_keyboard(sequence: Sequence, step: SequenceStep) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    links = []
    if len(step.buttons or []) < MAX_BUTTONS:
        links.append(_button(_("🔗 Add a link button"), SequenceAction.link, sequence.id, step.id))
    if step.buttons:
        links.append(_button(_("🗑 Remove the links"), SequenceAction.unlink, sequence.id, step.id))
    kb.row(*links)
    other = next((code for code in SUPPORTED_LANGUAGES if code != sequence.default_language), None)
    for code, action in (
        (sequence.default_language, SequenceAction.retext),
        (other, SequenceAction.retext_other),
    ):
        if code is not None:
            label = _("✏️ Text in {language}").format(language=LANGUAGE_NAMES.get(code, code))
            kb.row(_button(label, action, sequence.id, step.id))
    kb.row(_button(_("👁 As a customer gets it"), SequenceAction.preview, sequence.id, step.id))
    kb.row(
        _button(_("🗑 Delete step {n}").format(n=step.position), SequenceAction.delete, sequence.id, step.id)
    )
    kb.row(_button(_("« Back"), SequenceAction.open, sequence.id))
    return kb.as_markup()


def delete_confirm(sequence: Sequence, step: SequenceStep) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "Delete step {n}? The steps after it move up. Clients in the sequence now who haven't got it "
        "get the next step instead, no step twice."
    ).format(n=step.position)
    kb = InlineKeyboardBuilder()
    kb.row(
        _button(
            _("🗑 Yes, delete step {n}").format(n=step.position), SequenceAction.sure, sequence.id, step.id
        )
    )
    kb.row(_button(_("« Back"), SequenceAction.edit, sequence.id, step.id))
    return text, kb.as_markup()


def step_deleted(position: int) -> str:
    return _("🗑 Step {n} deleted.").format(n=position)


def retext_prompt(language: str, caption: bool) -> str:
    text = (
        _("Type the new caption in {language}. {hint}")
        if caption
        else _("Type the new text in {language}. {hint}")
    )
    return text.format(
        language=LANGUAGE_NAMES.get(language, language), hint=campaign_views.placeholders_hint()
    )


def rename_prompt() -> str:
    return _("Type the new name of the sequence (at most 60 characters).")


def saved() -> str:
    return _("✅ Saved.")


def step_added(position: int) -> str:
    return _("✅ Step {n} added.").format(n=position)


def trigger_keyboard(sequence: Sequence) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    for i, trigger in enumerate(TRIGGERS, start=1):
        kb.row(_button(trigger_label(trigger), SequenceAction.trigger, sequence.id, i))
    kb.row(_button(_("« Back"), SequenceAction.open, sequence.id))
    return _("What starts «{name}» for a client?").format(name=h(sequence.name)), kb.as_markup()


def tag_prompt() -> str:
    return _("Type the tag that starts the sequence when it is added to a client, like: vip")


def stage_keyboard(sequence: Sequence, stages: Seq[str]) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    for i, stage in enumerate(stages, start=1):
        kb.row(_button(stage_name(stage), SequenceAction.stage, sequence.id, i))
    return _("Which stage? When a deal enters it, its client is enrolled."), kb.as_markup()


def segment_keyboard(sequence: Sequence, segments: Seq[SavedSegment]) -> tuple[str, InlineKeyboardMarkup]:
    if not segments:
        return _("There are no saved segments yet. Save one in /segments first."), InlineKeyboardMarkup(
            inline_keyboard=[[_button(_("« Back"), SequenceAction.open, sequence.id)]]
        )
    kb = InlineKeyboardBuilder()
    for seg in segments:
        kb.row(_button("🎯 " + seg.name, SequenceAction.segment, sequence.id, seg.id))
    return (
        _(
            "Which segment? Clients who enter it after the activation are enrolled "
            "(checked every few minutes)."
        ),
        kb.as_markup(),
    )


def activated() -> str:
    return _("▶️ Active: the trigger enrols clients from now on.")


def deactivated(stopped: int) -> str:
    return _("⏸ Inactive. Stopped for {n} clients.").format(n=stopped)


def dialog_over() -> str:
    return _("This dialog is over. Send /sequences to begin again.")


def typed_not_text() -> str:
    return _("Please type text (a sticker, a photo or a file won't do here).")


def interest_toggled() -> str:
    return _("Saved.")


# --- the recipient's message ---


def recipient_markup(
    delivery_id: int, client_id: int, interested: bool, buttons: Seq[Seq[str]] = ()
) -> InlineKeyboardMarkup:
    """The step's link buttons, "I'm interested" when chosen, and Unsubscribe, as a broadcast's."""
    rows = campaign_views.link_rows(buttons)
    if interested:
        rows.append([_button(_("🙋 I'm interested"), SequenceAction.interested, delivery_id)])
    return with_unsubscribe(InlineKeyboardMarkup(inline_keyboard=rows) if rows else None, client_id)


# --- the client's drip panel (from the card) ---


def panel_text(client: Client, current: Seq[CardEnrolment], tz: str, locale: str) -> str:
    lines = [_("📨 <b>Drip sequences</b> · {name}").format(name=h(client.name)), ""]
    if not current:
        lines.append(_("Not in any sequence now."))
    for c in current:
        when = local_dt(c.enrolment.next_at, tz, locale) if c.enrolment.next_at is not None else "—"
        lines.append(
            _("• «{name}»: step {n} of {total} next, at {when}").format(
                name=h(c.sequence.name), n=c.enrolment.position, total=c.steps, when=when
            )
        )
    return "\n".join(lines)


def panel_keyboard(
    client: Client, current: Seq[CardEnrolment], available: Seq[Sequence]
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for c in current:
        kb.row(
            _button(
                _("⏹ Stop «{name}»").format(name=c.sequence.name[:30]), SequenceAction.stop, c.enrolment.id
            )
        )
    if client.telegram_id is not None:
        for s in available:
            kb.row(
                _button(
                    _("➕ Enrol in «{name}»").format(name=s.name[:30]), SequenceAction.enrol, s.id, client.id
                )
            )
    kb.row(
        InlineKeyboardButton(
            text=_("« Card"),
            callback_data=ClientCb(
                action=CardAction.open, client_id=client.id, version=client.version
            ).pack(),
        )
    )
    return kb.as_markup()


def enrolled(name: str) -> str:
    return _("➕ Enrolled in «{name}».").format(name=name)


def stopped(name: str) -> str:
    return _("⏹ «{name}» stopped for this client.").format(name=name)
