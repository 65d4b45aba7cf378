"""Deals: texts and keyboards for the card, lists, the pipeline, history, the dialog and the nudge.

Values people typed (titles, client names, reasons) are escaped here; button labels are plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency

from bot.callbacks import CardAction, ChoiceCb, ClientCb, DealAction, DealCb, PipelineCb, PipelineScope
from bot.formatting import local_dt
from bot.keyboards import label
from bot.messages import error_text
from bot.text import h
from models.clients import Client
from models.deals import Deal, DealEvent
from services.deals.reading import Card, Page, StageTotals
from services.deals.rules import CLOSED_STAGES
from services.errors import DomainError

# The default stages are translated; stages configured with other names are shown as written.
STAGE_NAMES = {
    "new": __("new"),
    "qualification": __("qualification"),
    "proposal": __("proposal"),
    "negotiation": __("negotiation"),
    "won": __("won"),
    "lost": __("lost"),
}
STAGE_ICONS = {"won": "🏆", "lost": "✖"}


def stage_name(stage: str) -> str:
    name = STAGE_NAMES.get(stage)
    return str(name) if name is not None else stage


def money(amount: Decimal, currency: str, locale: str) -> str:
    """Per the locale; whole amounts without the ",00"."""
    try:
        if amount == amount.to_integral_value():
            pattern = Locale.parse(locale).currency_formats["standard"].pattern
            return format_currency(
                amount, currency, format=pattern.replace(".00", ""), locale=locale, currency_digits=False
            )
        return format_currency(amount, currency, locale=locale)
    except (ValueError, KeyError):
        return f"{amount} {currency}"


def sums_text(sums: dict[str, Decimal], locale: str) -> str:
    return " + ".join(money(total, cur, locale) for cur, total in sorted(sums.items()))


def day_text(value: date, locale: str) -> str:
    return format_date(value, "d MMM y", locale=locale)


def deal_amount(deal: Deal, locale: str) -> str:
    return money(deal.amount, deal.currency, locale) if deal.amount is not None else "—"


def error(e: DomainError) -> str:
    texts = {
        "deal_changed": _("This deal has changed since this card was shown. Here it is now."),
        "deal_bad_stage": _("There is no such stage."),
        "deal_same_stage": _("The deal is already at this stage."),
        "amount_invalid": _(
            "I couldn't read that amount. Write a number, optionally with a currency: "
            "150000, 150 000 ₽, 1 500,50 USD, $2,000."
        ),
        "amount_negative": _("The amount can't be negative."),
        "amount_too_large": _("That amount is too large: at most 999 999 999 999.99."),
        "currency_unknown": _(
            "I don't know that currency. Use a code such as RUB, USD, EUR or a sign: ₽, $, €."
        ),
        "empty": _("That's empty. Please write some text."),
        "too_long": _("That's too long: {length} characters, at most {limit}.").format(
            length=e.params.get("length", "?"), limit=e.params.get("limit", "?")
        ),
        "time_past": _("That time has already passed. Please give a later one."),
        "time_unknown": _(
            "I couldn't read that date. Examples: 25.12.2026, 2026-12-25, tomorrow, next friday, in 2 weeks."
        ),
    }
    return texts.get(e.code) or error_text(e)


# --- the deal card ---


def stage_line(deal: Deal) -> str:
    icon = STAGE_ICONS.get(deal.stage, "▫")
    return f"{icon} {h(stage_name(deal.stage))}"


def card_text(card: Card, tz: str, locale: str, *, show_owner: bool) -> str:
    deal, client = card.deal, card.client
    company = f" ({h(client.company)})" if client.company else ""
    lines = [
        f"💼 <b>{h(deal.title)}</b>",
        _("Client: {name}").format(name=h(client.name) + company),
        _("Stage: {stage}").format(stage=stage_line(deal)),
        _("Amount: {amount}").format(amount=deal_amount(deal, locale)),
    ]
    if deal.expected_close is not None:
        lines.append(_("Expected close: {date}").format(date=day_text(deal.expected_close, locale)))
    if deal.stage == "lost" and deal.lost_reason:
        lines.append(_("Reason lost: {reason}").format(reason=h(deal.lost_reason)))
    if card.next_step is not None:
        lines.append(
            _("Next step: {text} — {when}").format(
                text=h(card.next_step.text), when=local_dt(card.next_step.due_at, tz, locale)
            )
        )
    if show_owner and card.owner is not None:
        lines.append(_("Owner: {name}").format(name=h(card.owner.display_name)))
    lines.append(_("Created: {when}").format(when=local_dt(deal.created_at, tz, locale)))
    if deal.closed_at is not None:
        lines.append(_("Closed: {when}").format(when=local_dt(deal.closed_at, tz, locale)))
    return "\n".join(lines)


def card_keyboard(deal: Deal, client: Client, stages: Sequence[str]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    buttons = [
        InlineKeyboardButton(
            text=label("→ " + stage_name(stage)),
            callback_data=DealCb(
                action=DealAction.stage, deal_id=deal.id, version=deal.version, arg=i
            ).pack(),
        )
        for i, stage in enumerate(stages)
        if stage != deal.stage
    ]
    for i in range(0, len(buttons), 2):
        kb.row(*buttons[i : i + 2])
    kb.row(
        InlineKeyboardButton(
            text=_("✏️ Edit"),
            callback_data=DealCb(action=DealAction.edit, deal_id=deal.id, version=deal.version).pack(),
        ),
        InlineKeyboardButton(
            text=_("📜 History"),
            callback_data=DealCb(action=DealAction.history, deal_id=deal.id, version=deal.version).pack(),
        ),
    )
    kb.row(
        InlineKeyboardButton(
            text=_("« Client's deals"),
            callback_data=ClientCb(
                action=CardAction.deals, client_id=client.id, version=client.version
            ).pack(),
        )
    )
    return kb.as_markup()


EDIT_TITLE, EDIT_AMOUNT, EDIT_CLOSE = 1, 2, 3


def edit_keyboard(deal: Deal) -> InlineKeyboardMarkup:
    def cb(arg: int) -> str:
        return DealCb(action=DealAction.edit, deal_id=deal.id, version=deal.version, arg=arg).pack()

    kb = InlineKeyboardBuilder()
    kb.button(text=_("Title"), callback_data=cb(EDIT_TITLE))
    kb.button(text=_("Amount"), callback_data=cb(EDIT_AMOUNT))
    kb.button(text=_("Expected close"), callback_data=cb(EDIT_CLOSE))
    kb.button(
        text=_("« Back"), callback_data=DealCb(action=DealAction.open, deal_id=deal.id, version=deal.version)
    )
    kb.adjust(3, 1)
    return kb.as_markup()


# --- lists ---


def deal_button_text(deal: Deal, locale: str, *, client_name: str | None = None, stage: bool = True) -> str:
    parts = [deal.title]
    if client_name:
        parts.append(client_name)
    if deal.amount is not None:
        parts.append(money(deal.amount, deal.currency, locale))
    if stage:
        parts.append(stage_name(deal.stage))
    icon = STAGE_ICONS.get(deal.stage, "💼")
    return label(f"{icon} " + " · ".join(parts))


def nav_row(page: Page, make: Callable[[int], str]) -> list[InlineKeyboardButton]:
    if page.pages <= 1:
        return []
    row = []
    if page.page > 0:
        row.append(InlineKeyboardButton(text="◀", callback_data=make(page.page - 1)))
    row.append(InlineKeyboardButton(text=f"{page.page + 1}/{page.pages}", callback_data=make(page.page)))
    if page.page < page.pages - 1:
        row.append(InlineKeyboardButton(text="▶", callback_data=make(page.page + 1)))
    return row


def client_deals_text(client: Client, page: Page) -> str:
    if not page.total:
        return _("💼 <b>{name}</b> has no deals yet.").format(name=h(client.name))
    return _("💼 Deals of <b>{name}</b>: {count}. Tap one to open it.").format(
        name=h(client.name), count=page.total
    )


def client_deals_keyboard(client: Client, page: Page, locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for deal in page.items:
        kb.row(
            InlineKeyboardButton(
                text=deal_button_text(deal, locale),
                callback_data=DealCb(action=DealAction.open, deal_id=deal.id, version=deal.version).pack(),
            )
        )
    nav = nav_row(
        page,
        lambda p: ClientCb(
            action=CardAction.deals, client_id=client.id, version=client.version, page=p
        ).pack(),
    )
    if nav:
        kb.row(*nav)
    kb.row(
        InlineKeyboardButton(
            text=_("➕ New deal"),
            callback_data=ClientCb(
                action=CardAction.newdeal, client_id=client.id, version=client.version
            ).pack(),
        ),
        InlineKeyboardButton(
            text=_("« Client"),
            callback_data=ClientCb(
                action=CardAction.open, client_id=client.id, version=client.version
            ).pack(),
        ),
    )
    return kb.as_markup()


def pipeline_text(rows: list[StageTotals], scope: PipelineScope, locale: str) -> str:
    title = (
        _("📊 <b>Pipeline</b>: my deals")
        if scope == PipelineScope.mine
        else _("📊 <b>Pipeline</b>: everyone's deals")
    )
    lines = [title, ""]
    open_count, open_sums = 0, {}
    for row in rows:
        line = f"{STAGE_ICONS.get(row.stage, '▫')} {h(stage_name(row.stage))}: {row.count}"
        if row.sums:
            line += f" — {sums_text(row.sums, locale)}"
        lines.append(line)
        if row.stage not in CLOSED_STAGES:
            open_count += row.count
            for cur, total in row.sums.items():
                open_sums[cur] = open_sums.get(cur, Decimal(0)) + total
    lines.append("")
    summary = _("Open: {count}").format(count=open_count)
    if open_sums:
        summary += f" — {sums_text(open_sums, locale)}"
    lines.append(summary)
    if not any(row.count for row in rows):
        lines.append(_("No deals yet. Start one with /newdeal or from a client's card."))
    else:
        lines.append(_("Tap a stage to see its deals."))
    return "\n".join(lines)


def pipeline_keyboard(
    rows: list[StageTotals],
    stages: Sequence[str],
    scope: PipelineScope,
    *,
    can_see_all: bool,
    board_url: str | None = None,
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    counts = {row.stage: row.count for row in rows}
    buttons = [
        InlineKeyboardButton(
            text=label(f"{stage_name(stage)} · {counts.get(stage, 0)}"),
            callback_data=PipelineCb(scope=scope, stage=i).pack(),
        )
        for i, stage in enumerate(stages)
    ]
    for i in range(0, len(buttons), 2):
        kb.row(*buttons[i : i + 2])
    if can_see_all:
        other = PipelineScope.all if scope == PipelineScope.mine else PipelineScope.mine
        text = _("👥 Everyone's deals") if other == PipelineScope.all else _("👤 My deals")
        kb.row(InlineKeyboardButton(text=text, callback_data=PipelineCb(scope=other).pack()))
    if board_url:  # the Mini App (bot/webapp), when WEBAPP_URL is set
        kb.row(InlineKeyboardButton(text=_("📋 Board"), web_app=WebAppInfo(url=board_url.rstrip("/") + "/")))
    return kb.as_markup()


def stage_list_text(stage: str, scope: PipelineScope, page: Page) -> str:
    name = h(stage_name(stage))
    if not page.total:
        return _("<b>{stage}</b>: no deals here.").format(stage=name)
    if scope == PipelineScope.mine:
        return _("<b>{stage}</b>: my deals, {count}. Most recently active first.").format(
            stage=name, count=page.total
        )
    return _("<b>{stage}</b>: everyone's deals, {count}. Most recently active first.").format(
        stage=name, count=page.total
    )


def stage_list_keyboard(
    page: Page, scope: PipelineScope, stage_index: int, locale: str
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for deal, client_name in page.items:
        kb.row(
            InlineKeyboardButton(
                text=deal_button_text(deal, locale, client_name=client_name, stage=False),
                callback_data=DealCb(action=DealAction.open, deal_id=deal.id, version=deal.version).pack(),
            )
        )
    nav = nav_row(page, lambda p: PipelineCb(scope=scope, stage=stage_index, page=p).pack())
    if nav:
        kb.row(*nav)
    kb.row(InlineKeyboardButton(text=_("« Pipeline"), callback_data=PipelineCb(scope=scope).pack()))
    return kb.as_markup()


# --- history ---


def _value(kind: str, value: str | None, locale: str) -> str:
    if value is None or value == "":
        return "—"
    if kind == "stage":
        return h(stage_name(value))
    if kind == "amount":
        amount, _sep, currency = value.partition(" ")
        try:
            return money(Decimal(amount), currency, locale)
        except ArithmeticError:
            return h(value)
    if kind == "close_date":
        try:
            return day_text(date.fromisoformat(value), locale)
        except ValueError:
            return h(value)
    return h(value)


def event_text(event: DealEvent, locale: str, names: dict[int, str]) -> str:
    kind = event.kind
    old, new = _value(kind, event.old_value, locale), _value(kind, event.new_value, locale)
    if kind == "created":
        return _("created at stage {stage}").format(stage=h(stage_name(event.details.get("stage") or "")))
    if kind == "stage":
        text = _("stage: {old} → {new}").format(old=old, new=new)
        return text + (" " + _("(reopened)") if event.details.get("reopened") else "")
    if kind == "lost_reason":
        return _("reason lost: {new}").format(new=new)
    if kind == "amount":
        return _("amount: {old} → {new}").format(old=old, new=new)
    if kind == "title":
        return _("title: {old} → {new}").format(old=old, new=new)
    if kind == "close_date":
        return _("expected close: {old} → {new}").format(old=old, new=new)
    if kind == "owner":

        def person(value: str | None) -> str:
            try:
                return h(names.get(int(value or ""), value))
            except ValueError:
                return h(value)

        return _("owner: {old} → {new}").format(old=person(event.old_value), new=person(event.new_value))
    if kind == "client":
        return _("moved to another client record (merged)")
    if kind == "nudge":
        return _("reminder sent: no activity for a while")
    return h(kind)


def history_text(deal: Deal, page: Page, tz: str, locale: str, names: dict[int, str]) -> str:
    lines = [_("📜 <b>History</b> of {title}").format(title=h(deal.title)), ""]
    for event, actor in page.items:
        who = h(actor) if actor else _("bot")
        lines.append(f"{local_dt(event.at, tz, locale)} · {who}: {event_text(event, locale, names)}")
    if not page.items:
        lines.append(_("Nothing yet."))
    return "\n".join(lines)


def history_keyboard(deal: Deal, page: Page) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    nav = nav_row(
        page, lambda p: DealCb(action=DealAction.history, deal_id=deal.id, version=deal.version, arg=p).pack()
    )
    if nav:
        kb.row(*nav)
    kb.row(
        InlineKeyboardButton(
            text=_("« Deal"),
            callback_data=DealCb(action=DealAction.open, deal_id=deal.id, version=deal.version).pack(),
        )
    )
    return kb.as_markup()


# --- the new-deal dialog ---


def dialog_keyboard(
    step: str, *, skip: bool = True, extra: Sequence[tuple[str, str]] = ()
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for text, value in extra:
        kb.row(InlineKeyboardButton(text=label(text), callback_data=ChoiceCb(step=step, value=value).pack()))
    row = []
    if skip:
        row.append(
            InlineKeyboardButton(text=_("Skip"), callback_data=ChoiceCb(step=step, value="skip").pack())
        )
    row.append(
        InlineKeyboardButton(text=_("Cancel"), callback_data=ChoiceCb(step=step, value="cancel").pack())
    )
    kb.row(*row)
    return kb.as_markup()


def client_choice_keyboard(step: str, clients: Sequence[Client]) -> InlineKeyboardMarkup:
    choices = [(f"{c.name} ({c.company})" if c.company else c.name, str(c.id)) for c in clients]
    return dialog_keyboard(step, skip=False, extra=choices)


def stage_choice_keyboard(step: str, stages: Sequence[str]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    buttons = [
        InlineKeyboardButton(
            text=label(stage_name(s)), callback_data=ChoiceCb(step=step, value=str(i)).pack()
        )
        for i, s in enumerate(stages)
        if s != "lost"
    ]
    for i in range(0, len(buttons), 3):
        kb.row(*buttons[i : i + 3])
    kb.row(
        InlineKeyboardButton(text=_("Skip"), callback_data=ChoiceCb(step=step, value="skip").pack()),
        InlineKeyboardButton(text=_("Cancel"), callback_data=ChoiceCb(step=step, value="cancel").pack()),
    )
    return kb.as_markup()


# --- the stale-deal nudge ---


def nudge(deal: Deal, client: Client, tz: str, locale: str) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "⏳ The deal <b>{title}</b> with {client} has been quiet since {date}: no contact and no stage "
        "change. What is the next step?"
    ).format(title=h(deal.title), client=h(client.name), date=local_dt(deal.last_activity_at, tz, locale))
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("Open the deal"),
        callback_data=DealCb(action=DealAction.open, deal_id=deal.id, version=deal.version),
    )
    return text, kb.as_markup()
