"""Broadcasts: the /broadcast dialog (audience, texts per language, preview), the message a recipient
gets (its "I'm interested" and Unsubscribe buttons), the progress message with Pause / Resume / Cancel,
and /campaigns with each campaign's results.

What people typed (segment names, the texts' placeholder values) is escaped; the texts themselves are
the composer's Telegram HTML, kept as typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import CampaignAction, CampaignCb
from bot.formatting import local_dt
from bot.keyboards import LANGUAGE_NAMES
from bot.messages import error_text
from bot.text import h
from bot.views.consent import with_unsubscribe
from models.campaigns import Campaign, CampaignStatus, DeliveryStatus
from models.segments import SavedSegment
from services.campaigns.core import FREE_RATE, Counts, stars_estimate, wall_time
from services.campaigns.results import Result
from services.campaigns.texts import PLACEHOLDERS
from services.errors import DomainError


def _button(text: str, action: CampaignAction, id_: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=CampaignCb(action=action, id=id_).pack())


def error(e: DomainError) -> str:
    p = e.params
    texts = {
        "campaign_placeholder": _("Unknown placeholder {name}. You can use: {known}.").format(
            name=h(p.get("name", "?")), known=p.get("known", "")
        ),
        "campaign_braces": _(
            "A brace without its pair. Placeholders look like {first_name}; type {{ or }} for a brace itself."
        ),
        "campaign_text_empty": _("The text is empty. Type the message."),
        "campaign_text_long": _(
            "Too long: with the placeholders filled in it can reach {length} characters, and Telegram "
            "allows {limit}. Make it shorter."
        ).format(length=p.get("length", "?"), limit=p.get("limit", "?")),
        "campaign_caption_long": _(
            "Too long for a caption: with the placeholders filled in it can reach {length} characters, "
            "and Telegram allows {limit} under a photo or a document. Make it shorter."
        ).format(length=p.get("length", "?"), limit=p.get("limit", "?")),
        "campaign_button_invalid": _(
            "Type the button as its label, a space and the address, like: Our shop https://example.com"
        ),
        "campaign_button_long": _("The label is too long: at most {limit} characters.").format(
            limit=p.get("limit", "?")
        ),
        "campaign_buttons_many": _("At most {limit} link buttons.").format(limit=p.get("limit", "?")),
        "campaign_media_invalid": _("Send a photo or a document with the text as its caption, or just text."),
        "campaign_audience_empty": _("Nobody in this audience can get offers now. Choose another one."),
        "campaign_started": _("This campaign has already been started."),
        "campaign_segment_gone": _("Its segment has been deleted. Send /broadcast to begin again."),
        "campaign_not_sending": _("It isn't sending now."),
        "campaign_not_paused": _("It isn't paused."),
        "campaign_cancelled": _("Already cancelled."),
        "campaign_over": _("This campaign is already over."),
        "campaign_cap_invalid": _("Type a whole number from 1 to {limit}.").format(limit=p.get("limit", "?")),
    }
    return texts.get(e.code) or error_text(e)


# --- the dialog ---


def audience_text() -> str:
    return _("📣 <b>New broadcast</b>\n\nWho gets it? Only people who agreed to offers are counted.")


def audience_keyboard(segments: Sequence[SavedSegment]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.row(_button(_("👥 All customers"), CampaignAction.audience, 0))
    for seg in segments:
        kb.row(_button("🎯 " + seg.name, CampaignAction.audience, seg.id))
    return kb.as_markup()


def audience_name(campaign: Campaign) -> str:
    return _("all customers") if campaign.segment_name is None else h(campaign.segment_name)


def placeholders_hint() -> str:
    return _("Placeholders: {names}.").format(names=", ".join(f"{{{p}}}" for p in PLACEHOLDERS))


def text_prompt(campaign: Campaign, reachable: int, language: str) -> str:
    return _(
        "Audience: {audience}. Reachable now: <b>{count}</b>.\n\nType the message in {language}. {hint}"
    ).format(
        audience=audience_name(campaign),
        count=reachable,
        language=LANGUAGE_NAMES.get(language, language),
        hint=placeholders_hint(),
    )


def other_prompt(campaign: Campaign, language: str) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "Now the same message in {language}, for those who read the bot in it (or Skip: they get the "
        "{default} one). {hint}"
    ).format(
        language=LANGUAGE_NAMES.get(language, language),
        default=LANGUAGE_NAMES.get(campaign.default_language, campaign.default_language),
        hint=placeholders_hint(),
    )
    kb = InlineKeyboardBuilder()
    kb.row(_button(_("Skip"), CampaignAction.skip, campaign.id))
    return text, kb.as_markup()


def preview_keyboard(
    campaign: Campaign, when: str | None, paid_offered: bool = False
) -> InlineKeyboardMarkup:
    """`when`: the scheduled time as the composer reads it (None: now); `paid_offered`: the paid
    broadcasts toggle (PAID_BROADCAST_RATE set)."""
    kb = InlineKeyboardBuilder()
    mark = "✅" if campaign.interested else "▫️"
    kb.row(
        _button(_('{mark} "I\'m interested" button').format(mark=mark), CampaignAction.interest, campaign.id)
    )
    if paid_offered:
        mark = "✅" if campaign.paid else "▫️"
        kb.row(
            _button(
                _("{mark} ⭐ Paid broadcast (faster)").format(mark=mark), CampaignAction.paid, campaign.id
            )
        )
    links = [_button(_("🔗 Add a link button"), CampaignAction.link, campaign.id)]
    if campaign.buttons:
        links.append(_button(_("🗑 Remove the links"), CampaignAction.unlink, campaign.id))
    kb.row(*links)
    kb.row(_button(_("🧪 Test to me"), CampaignAction.test, campaign.id))
    if when is None:
        kb.row(
            _button(_("🚀 Send now"), CampaignAction.send, campaign.id),
            _button(_("🕒 Schedule"), CampaignAction.when, campaign.id),
        )
    else:
        kb.row(_button(_("🚀 Send at {when}").format(when=when), CampaignAction.send, campaign.id))
        kb.row(_button(_("⏱ Send now instead"), CampaignAction.now, campaign.id))
    kb.row(_button(_("✖️ Discard"), CampaignAction.drop, campaign.id))
    return kb.as_markup()


def link_prompt() -> str:
    return _("Type the link button: its label, a space and the address, like: Our shop https://example.com")


def when_prompt() -> str:
    return _(
        "When? For example: tomorrow 12:00, friday 11am, 25.12 10:00. It goes at that time on each "
        "recipient's own clock (between 10:00 and 21:00 there; otherwise the next 10:00)."
    )


def preview_text(
    campaign: Campaign, reachable: int, cap: int, when: str | None = None, paid_rate: float = 0
) -> str:
    text = _(
        "👀 <b>Preview</b> for a sample recipient (above). Audience: {audience}, reachable now: {count}. "
        "Languages: {languages}.\nMessages go out from 10:00 to 21:00 in each recipient's time zone; "
        "the rest wait for the morning. At most {cap} offers per person in 7 days."
    ).format(
        audience=audience_name(campaign),
        count=reachable,
        languages=", ".join(LANGUAGE_NAMES.get(code, code) for code in campaign.texts),
        cap=cap,
    )
    if when is not None:
        text += "\n" + scheduled_line(when)
    if campaign.paid and paid_rate:
        text += "\n" + _(
            "⭐ Paid broadcast: up to {rate} messages a second instead of {free}; Telegram charges 0.1 Star "
            "for each message over the free {free} a second: about <b>{stars}</b> Stars for {count} messages."
        ).format(
            rate=f"{paid_rate:g}",
            free=FREE_RATE,
            stars=f"{stars_estimate(reachable, paid_rate):,.1f}".removesuffix(".0").replace(",", " "),
            count=reachable,
        )
    return text


def paid_off() -> str:
    return _("Paid broadcasts are turned off (PAID_BROADCAST_RATE is not set).")


def wall_text(campaign: Campaign, locale: str) -> str | None:
    """The scheduled wall-clock time, as it reads on anyone's clock (None: not scheduled)."""
    wall = wall_time(campaign)
    return None if wall is None else local_dt(wall.replace(tzinfo=UTC), "UTC", locale, "EEE, d MMM, HH:mm")


def scheduled_line(when: str) -> str:
    return _("🕒 Scheduled: {when} in each recipient's time zone.").format(when=when)


def test_note() -> str:
    return _("🧪 A test: this is how it looks to the sample recipient.")


def discarded() -> str:
    return _("✖️ Discarded. Nothing was sent.")


def started(count: int) -> str:
    return _("🚀 Started: {count} recipients. The progress follows in a moment.").format(count=count)


def dialog_over() -> str:
    return _("This broadcast draft is over (sent or discarded). Send /broadcast to begin again.")


def typed_not_text() -> str:
    return _("Type the message as text.")


# --- what a recipient gets ---


def media_of(message: Message) -> tuple[str, str] | None:
    """The photo (its largest size) or the document a composed message came with, as (kind, file_id)."""
    if message.photo:
        return "photo", message.photo[-1].file_id
    if message.document:
        return "document", message.document.file_id
    return None


async def show(
    message: Message, media: tuple[str | None, str | None], text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """A composed message as a recipient gets it (with its photo or document), under `message`."""
    kind, file_id = media
    if kind == "photo" and file_id:
        await message.answer_photo(file_id, caption=text, reply_markup=markup)
    elif kind == "document" and file_id:
        await message.answer_document(file_id, caption=text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


def link_rows(buttons: Sequence[Sequence[str]] | None) -> list[list[InlineKeyboardButton]]:
    """A message's URL buttons ([label, url] pairs), each on a row of its own."""
    return [[InlineKeyboardButton(text=label, url=url)] for label, url in buttons or []]


def recipient_markup(campaign: Campaign, client_id: int) -> InlineKeyboardMarkup:
    """Its link buttons, "I'm interested" when chosen, and Unsubscribe, each on a row of its own."""
    rows = link_rows(campaign.buttons)
    if campaign.interested:
        rows.append([_button(_("🙋 I'm interested"), CampaignAction.interested, campaign.id)])
    return with_unsubscribe(InlineKeyboardMarkup(inline_keyboard=rows) if rows else None, client_id)


def interest_thanks() -> str:
    return _("🙌 Thank you! We'll be in touch.")


def interest_again() -> str:
    return _("We already know you're interested. Thank you!")


def interest_unknown() -> str:
    return _("This offer isn't for this account.")


# --- progress ---


def status_name(status: CampaignStatus) -> str:
    return {
        CampaignStatus.draft: _("draft"),
        CampaignStatus.sending: _("sending"),
        CampaignStatus.paused: _("paused"),
        CampaignStatus.cancelled: _("cancelled"),
        CampaignStatus.done: _("done"),
    }[status]


def counts_lines(c: Counts) -> str:
    lines = _(
        "✅ Sent: {sent}\n🚫 Blocked: {blocked}\n🔕 No consent: {no_consent}\n⏳ Over the weekly limit: "
        "{capped}\n❌ Failed: {failed}"
    ).format(
        sent=c[DeliveryStatus.sent],
        blocked=c[DeliveryStatus.blocked],
        no_consent=c[DeliveryStatus.no_consent],
        capped=c[DeliveryStatus.capped],
        failed=c[DeliveryStatus.failed],
    )
    if c[DeliveryStatus.unknown]:
        lines += "\n" + _("❔ Unknown (the bot stopped during the send, not resent): {n}").format(
            n=c[DeliveryStatus.unknown]
        )
    return lines


def progress_text(campaign: Campaign, c: Counts, rate: float | None, when: str | None = None) -> str:
    """`when`: the scheduled time as its starter reads it, shown while nothing has been sent."""
    head = _("📣 Broadcast #{id} to {audience}: {status}").format(
        id=campaign.id, audience=audience_name(campaign), status=status_name(campaign.status)
    )
    text = f"<b>{head}</b>\n\n{counts_lines(c)}\n" + _("📬 Left: {left}").format(left=c.left)
    if when is not None and c.left:
        text += "\n" + scheduled_line(when)
    if campaign.status == CampaignStatus.sending and rate:
        eta = int(c.left / rate)
        text += "\n" + _("⚡ {rate} per second, about {minutes} min {seconds} s left").format(
            rate=f"{rate:.1f}", minutes=eta // 60, seconds=eta % 60
        )
    if campaign.status == CampaignStatus.cancelled and c.left:
        text += "\n" + _("Cancelled: the {left} left were not sent.").format(left=c.left)
    return text


def progress_keyboard(campaign: Campaign) -> InlineKeyboardMarkup | None:
    if campaign.status == CampaignStatus.sending:
        first = _button(_("⏸ Pause"), CampaignAction.pause, campaign.id)
    elif campaign.status == CampaignStatus.paused:
        first = _button(_("▶️ Resume"), CampaignAction.resume, campaign.id)
    else:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[first, _button(_("⏹ Cancel"), CampaignAction.cancel, campaign.id)]]
    )


def paused_for_errors(campaign: Campaign, errors: int, last: str) -> str:
    return _(
        "⚠️ Broadcast #{id} paused: {errors} errors in a row, the last: {last}. Press Resume to go on."
    ).format(id=campaign.id, errors=errors, last=h(last))


def paused() -> str:
    return _("⏸ Paused.")


def resumed() -> str:
    return _("▶️ Resumed.")


def cancelled() -> str:
    return _("⏹ Cancelled. Nothing more is sent.")


# --- /campaigns ---


def results_text(results: Sequence[Result], cap: int) -> str:
    if not results:
        body = _("No broadcasts yet. /broadcast to send one.")
    else:
        parts = []
        for r in results:
            f = r.figures
            head = _("<b>#{id}</b> to {audience}: {status}").format(
                id=r.campaign.id, audience=audience_name(r.campaign), status=status_name(r.campaign.status)
            )
            tail = _(
                "🙋 Interested: {clicks} · 🔗 Opened the link: {opened} · 🔕 Unsubscribed after it: "
                "{unsub} · 🛒 Bought within 7 days: {buyers} ({purchases} purchases)"
            ).format(
                clicks=f.clicks,
                opened=f.link_clicks,
                unsub=f.unsubscribed,
                buyers=f.buyers,
                purchases=f.purchases,
            )
            part = (
                f"{head}\n{counts_lines(f.counts)}\n📬 "
                + _("Left: {left}").format(left=f.counts.left)
                + f"\n{tail}"
            )
            if r.link:
                part += "\n" + _("🔗 Tracked link: {link}").format(link=h(r.link))
            parts.append(part)
        body = "\n\n".join(parts)
    limit = _("Weekly limit: at most {cap} offers per customer in 7 days.").format(cap=cap)
    return _("📊 <b>Broadcasts</b>") + f"\n\n{body}\n\n{limit}"


def results_keyboard(is_admin: bool) -> InlineKeyboardMarkup | None:
    if not is_admin:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("📤 Export"), CampaignAction.export)],
            [_button(_("⚙️ Weekly limit"), CampaignAction.cap)],
        ]
    )


def cap_prompt(cap: int) -> str:
    return _("Now at most {cap} offers per customer in 7 days. Type the new limit (1–50).").format(cap=cap)


def cap_saved(cap: int) -> str:
    return _("✅ Saved: at most {cap} offers per customer in 7 days.").format(cap=cap)
