"""Texts and keyboards of the client base: the card, lists, dialog steps, reports.

Every value a person typed is escaped with h(); button labels are plain text, cut by label().
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_date
from babel.numbers import format_currency

from bot.callbacks import CardAction, ChoiceCb, ClientCb, PageCb
from bot.formatting import local_dt
from bot.keyboards import label
from bot.messages import error_text
from bot.text import h, visible_length
from bot.views.segments import abc_label, segment_label
from models.clients import Client, ClientStatus
from models.users import User
from services import phones
from services.clients.card import CardData
from services.clients.dedupe import Duplicate
from services.clients.fields import EDITABLE
from services.clients.lists import ListRow
from services.errors import DomainError
from services.vcard import ImportReport

CARD_NOTE_LIMIT = 1500  # the card shows the start of a long note; Edit → Note shows it whole
PROMPT_VALUE_LIMIT = 3300  # the current value shown in an Edit step (a whole note may not fit)
CARD_TEXT_LIMIT = 3900  # leaves room for a header line ("✅ Saved.") within Telegram's 4096
STATUS_ICONS = {ClientStatus.prospect: "🌱", ClientStatus.active: "✅", ClientStatus.inactive: "💤"}


def status_name(status: ClientStatus) -> str:
    return {
        ClientStatus.prospect: _("prospect"),
        ClientStatus.active: _("active"),
        ClientStatus.inactive: _("inactive"),
    }[status]


def field_name(name: str) -> str:
    return {
        "name": _("Name"),
        "phones": _("Phones"),
        "email": _("Email"),
        "company": _("Company"),
        "position": _("Position"),
        "source": _("Source"),
        "tags": _("Tags"),
        "birthday": _("Birthday"),
        "status": _("Status"),
        "timezone": _("Time zone"),
        "language": _("Language"),
        "note": _("Note"),
    }[name]


# --- errors ---


def client_error(e: DomainError) -> str:
    p = {k: h(v) for k, v in e.params.items()}
    texts = {
        "empty": lambda: _("The message is empty. Please send text."),
        "too_long": lambda: _(
            "Too long: {length} characters, at most {limit}. Please send a shorter text."
        ).format(**p),
        "bad_email": lambda: _("“{value}” is not a valid email address.").format(**p),
        "bad_phone": lambda: _(
            "“{value}” is not a valid phone number. Numbers from other countries need the country code (+…)."
        ).format(**p),
        "too_many_phones": lambda: _("A client can have at most {limit} phone numbers.").format(**p),
        "too_many_tags": lambda: _("A client can have at most {limit} tags.").format(**p),
        "bad_date": lambda: _(
            "“{value}” is not a date I understand. Use DD.MM.YYYY, e.g. 31.12.1990."
        ).format(**p),
        "bad_timezone": lambda: _(
            "“{value}” is not a time zone. Send a name like Europe/Moscow or Asia/Yekaterinburg."
        ).format(**p),
        "bad_language": lambda: _("“{value}” is not a language code. Send a code like ru, en or de.").format(
            **p
        ),
        "two_emails": lambda: _("One email per client, please."),
        "no_name": lambda: _(
            "I couldn't find a name. Put it first, e.g. /add Ivan Petrov +7 999 123-45-67 ivan@example.ru"
        ),
        "note_full": lambda: _(
            "The note can't be longer than {limit} characters; {left} are left. "
            "Send a shorter text, or shorten the note with ✏️ Edit → Note."
        ).format(**p),
        "stale": lambda: _("The card changed meanwhile. Here it is as it is now."),
        "bad_owner": lambda: _("That person is not an active manager or admin."),
        "same_owner": lambda: _("They already own this client."),
        "merge_self": lambda: _("A card can't be merged with itself."),
        "list_expired": lambda: _("This list is out of date. Send /find or /clients again."),
        "dialog_over": lambda: _("This dialog is over. Send the command again to start anew."),
        "send_text": lambda: _("Please send text here (not a sticker, photo or file)."),
    }
    make = texts.get(e.code)
    return make() if make else error_text(e)


def duplicate_text(dup: Duplicate) -> str:
    via = {"phone": _("this phone number"), "email": _("this email"), "telegram": _("this Telegram account")}[
        dup.via
    ]
    if dup.visible:
        return _("ℹ️ A client with {via} already exists: <b>{name}</b> (owner: {owner}).").format(
            via=via, name=h(dup.existing.name), owner=h(dup.owner_name)
        )
    return _("ℹ️ A client with {via} already exists and is owned by {owner}. Ask them or an admin.").format(
        via=via, owner=h(dup.owner_name)
    )


# --- the card ---

VIP_BADGE = "⭐ VIP"


def rfm_line(score: Any) -> str:
    """The card's RFM line: the segment with its R, F, M scores and the ABC class."""
    if score is None:
        return "📊 " + segment_label(None)
    return "📊 " + _("{segment} · R{r} F{f} M{m} · {abc}").format(
        segment=segment_label(score.segment), r=score.r, f=score.f, m=score.m, abc=abc_label(score.abc_class)
    )


def _money(sums: dict, locale: str) -> str:
    parts = []
    for currency, amount in sorted(sums.items()):
        try:
            parts.append(format_currency(amount, currency, locale=locale))
        except Exception:
            parts.append(f"{amount} {currency}")
    return " + ".join(parts)


def card_text(card: CardData, tz: str, locale: str, *, share: bool = False) -> str:
    """The card. `share` (inline mode, sent into other chats) leaves out the internal parts."""
    c = card.client
    lines = [f"👤 <b>{h(c.name)}</b>"]
    if not share and (c.vip or (card.rfm is not None and card.rfm.abc_class == "A")):
        lines[0] += " " + VIP_BADGE
    if not share:
        owner = card.owner.display_name if card.owner else "?"
        lines.append(
            _("{icon} Status: {status} · Owner: {owner}").format(
                icon=STATUS_ICONS[c.status], status=status_name(c.status), owner=h(owner)
            )
        )
    if c.phones:
        lines.append("📞 " + ", ".join(h(phones.display(p.e164)) for p in c.phones))
    if c.email:
        lines.append(f"✉️ {h(c.email)}")
    if c.company or c.position:
        lines.append("🏢 " + " — ".join(h(x) for x in (c.company, c.position) if x))
    if share:
        return "\n".join(lines)
    if c.source:
        lines.append(_("📥 Source: {source}").format(source=h(c.source)))
    if c.birthday:
        lines.append(_("🎂 Birthday: {date}").format(date=format_date(c.birthday, "d MMM y", locale=locale)))
    if c.timezone or c.language:
        bits = []
        if c.timezone:
            bits.append(_("time zone {tz}").format(tz=h(c.timezone)))
        if c.language:
            bits.append(_("language {code}").format(code=h(c.language)))
        lines.append("🌍 " + ", ".join(bits))
    if c.last_contact_at:
        lines.append(_("🕓 Last contact: {when}").format(when=local_dt(c.last_contact_at, tz, locale)))
    else:
        lines.append(_("🕓 No contacts logged yet"))
    reminder = card.next_reminder
    if reminder is not None:
        lines.append(
            _("⏰ Next reminder: {when} — {text}").format(
                when=local_dt(reminder.due_at, tz, locale), text=h(label(reminder.text, 100))
            )
        )
    if card.deals is not None and card.deals.count:
        total = _money(card.deals.sums, locale)
        lines.append(_("💼 Open deals: {n}").format(n=card.deals.count) + (f" · {h(total)}" if total else ""))
    lines.append(rfm_line(card.rfm))
    if card.drips:
        line = _("📨 Drip sequences: {n}").format(n=card.drips)
        if card.drip_next_at is not None:
            line += " · " + _("next step {when}").format(when=local_dt(card.drip_next_at, tz, locale))
        lines.append(line)
    if c.tags:
        lines.append("🏷 " + " ".join(f"#{h(t.tag)}" for t in c.tags))
    for dup in card.duplicates:
        lines.append(
            _("⚠️ Looks like a duplicate of <b>{name}</b>{company} (added {date}). Merge them?").format(
                name=h(label(dup.name, 60)),
                company=f" ({h(label(dup.company, 60))})" if dup.company else "",
                date=local_dt(dup.created_at, tz, locale, "d MMM y"),
            )
        )
    if c.note:
        # The note goes last and gets what is left of the message (Edit → Note shows it whole).
        header = _("📝 Note:")
        room = min(CARD_NOTE_LIMIT, CARD_TEXT_LIMIT - visible_length("\n".join(lines)) - len(header) - 2)
        if room > 20:
            note = c.note if len(c.note) <= room else c.note[: room - 1] + "…"
            lines.append(header + "\n" + h(note))
    return "\n".join(lines)


def card_keyboard(card: CardData, viewer: User) -> InlineKeyboardMarkup:
    c = card.client

    def cb(action: CardAction, arg: int = 0) -> str:
        return ClientCb(action=action, client_id=c.id, version=c.version, arg=arg).pack()

    kb = InlineKeyboardBuilder()
    kb.row(
        InlineKeyboardButton(text=_("📞 Log contact"), callback_data=cb(CardAction.log)),
        InlineKeyboardButton(text=_("⏰ Remind"), callback_data=cb(CardAction.remind)),
    )
    kb.row(
        InlineKeyboardButton(text=_("💼 Deal"), callback_data=cb(CardAction.deals)),
        InlineKeyboardButton(text=_("🗒 Note"), callback_data=cb(CardAction.note)),
    )
    kb.row(
        InlineKeyboardButton(text=_("📜 History"), callback_data=cb(CardAction.history)),
        InlineKeyboardButton(text=_("✏️ Edit"), callback_data=cb(CardAction.edit)),
    )
    # The customer side: points and purchases (handlers/loyalty.py), consent (handlers/consent.py) and,
    # while the client isn't in the bot yet, a link to invite them (handlers/customers.py).
    kb.row(
        InlineKeyboardButton(text=_("🎁 Points"), callback_data=cb(CardAction.loyalty)),
        InlineKeyboardButton(text=_("🔔 Consent"), callback_data=cb(CardAction.consent)),
    )
    if c.telegram_id is None:
        kb.row(InlineKeyboardButton(text=_("📲 Invite to bot"), callback_data=cb(CardAction.invite)))
    else:  # the client's drip sequences: the current ones with Stop, Enrol (handlers/sequences.py)
        kb.row(InlineKeyboardButton(text=_("📨 Drip sequences"), callback_data=cb(CardAction.drips)))
    if viewer.effective_role.value == "admin":
        kb.row(
            InlineKeyboardButton(text=_("👔 Owner"), callback_data=cb(CardAction.owner)),
            InlineKeyboardButton(
                text=_("☆ Clear VIP") if c.vip else _("⭐ Mark VIP"), callback_data=cb(CardAction.vip)
            ),
        )
    for dup in card.duplicates:
        kb.row(
            InlineKeyboardButton(
                text=label(_("🔀 Merge with {name}").format(name=dup.name), 40),
                callback_data=cb(CardAction.merge, dup.id),
            )
        )
    return kb.as_markup()


def back_to_card(client: Client) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("« Card"),
        callback_data=ClientCb(action=CardAction.open, client_id=client.id, version=client.version).pack(),
    )


# --- lists ---


def open_button(item) -> InlineKeyboardButton:
    """A client in a list of them (an RFM segment's, a saved segment's): 👤, ⭐ for a VIP, the name and
    the company; it opens the card."""
    mark = "⭐ " if getattr(item, "vip", False) else ""
    extra = f" · {item.company}" if item.company else ""
    return InlineKeyboardButton(
        text=label(f"👤 {mark}{item.name}{extra}"),
        callback_data=ClientCb(action=CardAction.open, client_id=item.id, version=item.version).pack(),
    )


def client_label(item: ListRow) -> str:
    extra = item.company or (phones.display(item.phone) if item.phone else "")
    vip = "⭐ " if getattr(item, "vip", False) else ""
    return label(f"👤 {vip}{item.name}" + (f" · {extra}" if extra else ""))


def list_keyboard(
    items: Sequence[ListRow], key: str, page: int, has_next: bool, extra_rows: Sequence[list] = ()
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for client in items:
        kb.row(
            InlineKeyboardButton(
                text=client_label(client),
                callback_data=ClientCb(
                    action=CardAction.open, client_id=client.id, version=client.version
                ).pack(),
            )
        )
    if page > 0 or has_next:
        nav = []
        if page > 0:
            nav.append(InlineKeyboardButton(text="◀", callback_data=PageCb(key=key, page=page - 1).pack()))
        nav.append(InlineKeyboardButton(text=str(page + 1), callback_data=PageCb(key=key, page=page).pack()))
        if has_next:
            nav.append(InlineKeyboardButton(text="▶", callback_data=PageCb(key=key, page=page + 1).pack()))
        kb.row(*nav)
    for row in extra_rows:
        kb.row(*row)
    return kb.as_markup()


def clients_filter_row(current: str) -> list[list[InlineKeyboardButton]]:
    """Quick filters under /clients; `current` is the active one (it is shown with a dot)."""
    options = [
        ("cl.", _("All")),
        ("cl.prospect", STATUS_ICONS[ClientStatus.prospect]),
        ("cl.active", STATUS_ICONS[ClientStatus.active]),
        ("cl.inactive", STATUS_ICONS[ClientStatus.inactive]),
        ("cl.s30", _("🕸 30+ days")),
    ]
    row = [
        InlineKeyboardButton(
            text=("• " if spec == current else "") + text, callback_data=PageCb(key=spec).pack()
        )
        for spec, text in options
    ]
    return [row]


def clients_title(
    status: ClientStatus | None, tag: str | None, stale: int | None, everyone: bool, empty: bool
) -> str:
    title = _("👥 <b>All clients</b>") if everyone else _("👥 <b>My clients</b>")
    bits = []
    if status is not None:
        bits.append(_("status: {status}").format(status=status_name(status)))
    if tag:
        bits.append(f"#{h(tag)}")
    if stale is not None:
        bits.append(_("no contact for {n}+ days").format(n=stale))
    if bits:
        title += " — " + ", ".join(bits)
    if empty:
        title += "\n" + _("Nobody here yet. /add adds a client.")
    return title


# --- dialog steps ---


def step_keyboard(
    step: str, *, skip: bool = True, clear: bool = False, extra: Sequence[tuple[str, str]] = ()
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for text, value in extra:
        kb.button(text=text, callback_data=ChoiceCb(step=step, value=value))
    if skip:
        kb.button(text=_("⏭ Skip"), callback_data=ChoiceCb(step=step, value="skip"))
    if clear:
        kb.button(text=_("🧹 Clear"), callback_data=ChoiceCb(step=step, value="clear"))
    kb.button(text=_("✖️ Cancel"), callback_data=ChoiceCb(step=step, value="cancel"))
    if extra:
        kb.adjust(len(extra), 2)
    else:
        kb.adjust(2)
    return kb.as_markup()


def add_prompt(step: str) -> str:
    return {
        "name": _("➕ <b>New client</b>, step 1 of 5.\nSend the client's name."),
        "phone": _(
            "Step 2 of 5. Send the phone number (several: separate them with commas). "
            "Without a country code it is read as a local number."
        ),
        "email": _("Step 3 of 5. Send the email address."),
        "company": _("Step 4 of 5. Send the company (and, after a comma, the position if you like)."),
        "tags": _("Step 5 of 5. Send tags separated by commas, e.g. vip, b2b."),
    }[step]


def edit_menu(client: Client) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for i, name in enumerate(EDITABLE):
        kb.button(
            text=field_name(name),
            callback_data=ClientCb(
                action=CardAction.edit, client_id=client.id, version=client.version, arg=i + 1
            ),
        )
    kb.adjust(3)
    kb.row(back_to_card(client))
    return kb.as_markup()


def edit_prompt(field: str, client: Client, tz: str, locale: str) -> str:
    current = {
        "name": client.name,
        "email": client.email,
        "company": client.company,
        "position": client.position,
        "source": client.source,
        "tags": ", ".join(t.tag for t in client.tags),
        "birthday": format_date(client.birthday, "dd.MM.y", locale=locale) if client.birthday else None,
        "timezone": client.timezone,
        "language": client.language,
        "note": client.note,
    }.get(field)
    hints = {
        "name": _("Send the new name."),
        "email": _("Send the new email address."),
        "company": _("Send the company."),
        "position": _("Send the position."),
        "source": _("Send where the client came from (e.g. website, referral, exhibition)."),
        "tags": _("Send all tags separated by commas, e.g. vip, b2b. They replace the current ones."),
        "birthday": _("Send the birthday as DD.MM.YYYY."),
        "timezone": _("Send the client's time zone, e.g. Europe/Moscow or Asia/Novosibirsk."),
        "language": _("Choose the client's language or send its code (e.g. de)."),
        "note": _(
            "Send the whole new note; it replaces the current one. To add a line, use 🗒 Note on the card."
        ),
    }
    text = _("✏️ <b>{name}</b> — {field}").format(name=h(client.name), field=field_name(field))
    if current:
        shown = current if len(current) <= PROMPT_VALUE_LIMIT else current[: PROMPT_VALUE_LIMIT - 1] + "…"
        text += "\n" + _("Now: {value}").format(value=h(shown))
    return text + "\n\n" + hints[field]


def phones_menu(client: Client) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    for p in client.phones:
        kb.row(
            InlineKeyboardButton(
                text=_("❌ {phone}").format(phone=phones.display(p.e164)),
                callback_data=ClientCb(
                    action=CardAction.delphone, client_id=client.id, version=client.version, arg=p.id
                ).pack(),
            )
        )
    kb.row(
        InlineKeyboardButton(
            text=_("➕ Add a number"),
            callback_data=ClientCb(
                action=CardAction.addphone, client_id=client.id, version=client.version
            ).pack(),
        )
    )
    kb.row(back_to_card(client))
    text = _("📞 <b>{name}</b> — phones. Tap a number to remove it, or add one.").format(name=h(client.name))
    if not client.phones:
        text += "\n" + _("No numbers yet.")
    return text, kb.as_markup()


def status_menu(client: Client) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    for i, status in enumerate(ClientStatus):
        mark = "• " if status == client.status else ""
        kb.button(
            text=f"{mark}{STATUS_ICONS[status]} {status_name(status)}",
            callback_data=ClientCb(
                action=CardAction.status, client_id=client.id, version=client.version, arg=i + 1
            ),
        )
    kb.adjust(1)
    kb.row(back_to_card(client))
    return _("<b>{name}</b> — choose the status.").format(name=h(client.name)), kb.as_markup()


def owner_menu(client: Client, staff: Sequence[User]) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    for member in staff:
        mark = "• " if member.id == client.owner_id else ""
        icon = "👑" if member.role.value == "admin" else "👤"
        kb.row(
            InlineKeyboardButton(
                text=label(f"{mark}{icon} {member.display_name}"),
                callback_data=ClientCb(
                    action=CardAction.owner, client_id=client.id, version=client.version, arg=member.id
                ).pack(),
            )
        )
    kb.row(back_to_card(client))
    return _("👔 Who should own <b>{name}</b>?").format(name=h(client.name)), kb.as_markup()


def merge_confirm(survivor: Client, other: Client, tz: str, locale: str) -> tuple[str, InlineKeyboardMarkup]:
    def describe(c: Client) -> str:
        bits = [f"<b>{h(c.name)}</b>"]
        if c.company:
            bits.append(h(c.company))
        if c.phones:
            bits.append(", ".join(h(phones.display(p.e164)) for p in c.phones))
        if c.email:
            bits.append(h(c.email))
        bits.append(_("added {date}").format(date=local_dt(c.created_at, tz, locale, "d MMM y")))
        return " · ".join(bits)

    text = "\n".join(
        [
            _("🔀 <b>Merge two cards?</b>"),
            _("Keep: {card}").format(card=describe(survivor)),
            _("Merge into it: {card}").format(card=describe(other)),
            "",
            _(
                "Phones, tags, contacts, deals and reminders move to the kept card; its empty fields are "
                "filled from the other. The other card disappears. This can't be undone."
            ),
        ]
    )
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("✅ Merge"),
        callback_data=ClientCb(
            action=CardAction.mergeok, client_id=survivor.id, version=survivor.version, arg=other.id
        ),
    )
    kb.row(back_to_card(survivor))
    return text, kb.as_markup()


# --- .vcf import ---


def import_report(report: ImportReport) -> str:
    lines = [_("📇 <b>Contacts file</b>: {total} contacts").format(total=report.total)]
    lines.append(_("✅ Added: {n}").format(n=len(report.added)))
    lines += [f"• {h(c.name)}" for c in report.added]
    if report.known:
        lines.append(_("ℹ️ Already known: {n}").format(n=len(report.known)))
        for name, dup in report.known:
            if dup.visible:
                lines.append(
                    _("• {name} — already in the base as {existing}").format(
                        name=h(name), existing=h(dup.existing.name)
                    )
                )
            else:
                lines.append(_("• {name} — owned by {owner}").format(name=h(name), owner=h(dup.owner_name)))
    if report.rejected:
        lines.append(_("❌ Not added: {n}").format(n=len(report.rejected)))
        for name, error in report.rejected:
            shown = h(name) if name else _("(no name)")
            reason = _("no name") if error.code == "no_name" else client_error(error)
            lines.append(f"• {shown}: {reason}")
    return "\n".join(lines)


def vcf_error(code: str, **params: object) -> str:
    if code == "vcf_too_big":
        return _("This file is too big: at most {limit} KB, please.").format(**params)
    if code == "vcf_too_many":
        return _("This file has more than {limit} contacts. Split it into smaller files.").format(**params)
    return _("I couldn't read this file. Send a .vcf file exported from your phone's contacts.")
