"""The bonus program: texts and keyboards of the points card, the purchase and reversal dialogs,
/balance, /gifts, /referral, the /loyalty settings and gift catalog, and the service notices.

Values people typed (names, reasons, gift names) are escaped here; button labels are plain text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_date
from babel.numbers import format_decimal

from bot.callbacks import CardAction, ChoiceCb, ClientCb, LoyaltyAction, LoyaltyCb
from bot.keyboards import label
from bot.messages import error_text
from bot.text import h
from bot.views import Notice, Rendered
from bot.views.deals import money
from models import loyalty as m
from models.clients import Client
from models.loyalty import Gift, LedgerEntry
from services.errors import DomainError
from services.loyalty import HistoryPage, Program, Quote, Summary, Tier
from services.timezones import zone_of

# The default tiers are translated; tiers an admin named otherwise are shown as written.
TIER_NAMES = {"Bronze": __("Bronze"), "Silver": __("Silver"), "Gold": __("Gold")}

SETTING_LABELS = {
    "earn_percent": __("Points per purchase, %"),
    "welcome_bonus": __("Welcome bonus"),
    "birthday_bonus": __("Birthday bonus"),
    "referral_bonus": __("Referral bonus"),
    "expiry_days": __("Expiry, days"),
    "redeem_share": __("Payable with points, %"),
    "tiers": __("Tiers"),
}


def locale() -> str:
    return get_i18n().current_locale


def tier_name(name: str) -> str:
    known = TIER_NAMES.get(name)
    return str(known) if known is not None else name


def pts(value: int) -> str:
    return format_decimal(value, locale=locale())


def signed(value: int) -> str:
    return ("+" if value > 0 else "−" if value < 0 else "") + pts(abs(value))


def pct(value: Decimal) -> str:
    return format_decimal(value.normalize(), locale=locale())


def cash(amount: Decimal, currency: str) -> str:
    return money(Decimal(amount), currency, locale())


def day(value: datetime, tz: str) -> str:
    return format_date(value.astimezone(zone_of(tz)).date(), "d MMM y", locale=locale())


def error(e: DomainError) -> str:
    p = e.params
    texts = {
        "number_invalid": _("Please send a whole number, for example 500."),
        "number_range": _("The number must be from {low} to {high}.").format(
            low=p.get("low", "?"), high=p.get("high", "?")
        ),
        "tiers_invalid": _(
            "I couldn't read the tiers. Write each as name, total spend from, discount %, separated by "
            "“;”, for example: Bronze 0 0; Silver 30000 5; Gold 100000 10"
        ),
        "tiers_too_many": _("Too many tiers: at most {limit}.").format(limit=p.get("limit", "?")),
        "tiers_first_zero": _("The first tier must start from 0."),
        "tiers_duplicate": _("Two tiers have the same name."),
        "tiers_order": _("Each tier must start from a larger total spend than the one before."),
        "points_not_enough": _("Not enough points: they were spent meanwhile. Nothing was changed."),
        "points_over_balance": _("Not enough points: the balance is {balance}.").format(
            balance=p.get("balance", "?")
        ),
        "points_over_share": _("Too many points: at most {limit} can pay for this purchase.").format(
            limit=p.get("limit", "?")
        ),
        "purchase_amount_zero": _("The amount must be more than zero."),
        "purchase_currency": _("Purchases are recorded in {currency}. Please write the amount in it.").format(
            currency=p.get("currency", "?")
        ),
        "purchase_quote_changed": _(
            "The figures changed since they were shown (the client's tier or the program's settings). "
            "Nothing was recorded: please check them again."
        ),
        "reversal_reason": _("A reason is required: write it after the points, e.g. “+100 goodwill”."),
        "gift_invalid": _("Send the gift's name and then its price in points, for example: Coffee mug 500"),
        "gift_gone": _("This gift is no longer offered."),
        "gift_closed": _("This gift request is already closed."),
        "empty": _("That's empty. Please write some text."),
        "too_long": _("That's too long: {length} characters, at most {limit}.").format(
            length=p.get("length", "?"), limit=p.get("limit", "?")
        ),
        "amount_invalid": _("I couldn't read that amount. Write a number, for example: 12500 or 12 500,50."),
        "amount_negative": _("The amount can't be negative."),
        "amount_too_large": _("That amount is too large: at most 999 999 999 999.99."),
        "currency_unknown": _(
            "I don't know that currency. Purchases are recorded in the company's currency."
        ),
    }
    return texts.get(e.code) or error_text(e)


# --- the points card on a client (staff) ---


def tier_line(s: Summary) -> str:
    return _("Tier: {tier}, discount {discount}%").format(
        tier=h(tier_name(s.tier.name)), discount=pct(s.tier.discount)
    )


def next_tier_line(s: Summary, currency: str) -> str:
    if s.next_tier is None or s.to_next is None:
        return _("This is the top tier.")
    return _("To {tier}: {left} more in purchases").format(
        tier=h(tier_name(s.next_tier.name)), left=cash(s.to_next, currency)
    )


def card_text(s: Summary, currency: str) -> str:
    lines = [
        _("🎁 <b>Points: {name}</b>").format(name=h(s.client.name)),
        _("Balance: {points} points").format(points=pts(s.balance)),
        tier_line(s),
        _("Total spend: {amount}").format(amount=cash(s.total_spend, currency)),
        next_tier_line(s, currency),
    ]
    if s.client.telegram_id is None:
        lines.append(_("Not in the bot yet: the customer gets no messages about points."))
    return "\n".join(lines)


def card_keyboard(client: Client, *, admin: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.row(
        InlineKeyboardButton(
            text=_("🛒 Purchase"),
            callback_data=LoyaltyCb(action=LoyaltyAction.buy, id=client.id, arg=client.version).pack(),
        ),
        InlineKeyboardButton(
            text=_("📜 Points history"),
            callback_data=LoyaltyCb(action=LoyaltyAction.hist, id=client.id).pack(),
        ),
    )
    if admin:
        kb.row(
            InlineKeyboardButton(
                text=_("↩️ Reversal"),
                callback_data=LoyaltyCb(action=LoyaltyAction.rev, id=client.id, arg=client.version).pack(),
            )
        )
    kb.row(
        InlineKeyboardButton(
            text=_("« Client"),
            callback_data=ClientCb(
                action=CardAction.open, client_id=client.id, version=client.version
            ).pack(),
        )
    )
    return kb.as_markup()


def entry_text(e: LedgerEntry) -> str:
    reason = h(e.reason or "")
    texts = {
        m.EARN: _("for a purchase"),
        m.REDEEM: _("paid for a purchase"),
        m.EXPIRE: _("expired"),
        m.WELCOME: _("welcome bonus"),
        m.BIRTHDAY: _("birthday bonus"),
        m.REFERRAL: _("referral bonus"),
        m.REVERSAL: _("correction: {reason}").format(reason=reason),
        m.GIFT_RESERVE: _("held for the gift “{gift}”").format(gift=reason),
        m.GIFT_HANDED: _("gift “{gift}” handed over").format(gift=reason),
        m.GIFT_RETURN: _("gift “{gift}” cancelled, points returned").format(gift=reason),
    }
    return texts.get(e.kind, h(e.kind))


def entry_line(e: LedgerEntry, tz: str) -> str:
    points = signed(e.points) if e.points else "·"
    return f"{day(e.at, tz)} · <b>{points}</b> · {entry_text(e)}"


def history_text(page: HistoryPage, tz: str) -> str:
    lines = [_("📜 <b>Points history</b> of {name}").format(name=h(page.client.name)), ""]
    lines += [entry_line(e, tz) for e in page.items]
    if not page.items:
        lines.append(_("No entries yet."))
    return "\n".join(lines)


def history_keyboard(page: HistoryPage) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    cid = page.client.id
    if page.pages > 1:
        row = []
        if page.page > 0:
            row.append(
                InlineKeyboardButton(
                    text="◀",
                    callback_data=LoyaltyCb(action=LoyaltyAction.hist, id=cid, arg=page.page - 1).pack(),
                )
            )
        row.append(
            InlineKeyboardButton(
                text=f"{page.page + 1}/{page.pages}",
                callback_data=LoyaltyCb(action=LoyaltyAction.hist, id=cid, arg=page.page).pack(),
            )
        )
        if page.page < page.pages - 1:
            row.append(
                InlineKeyboardButton(
                    text="▶",
                    callback_data=LoyaltyCb(action=LoyaltyAction.hist, id=cid, arg=page.page + 1).pack(),
                )
            )
        kb.row(*row)
    kb.row(
        InlineKeyboardButton(
            text=_("« Points"), callback_data=LoyaltyCb(action=LoyaltyAction.card, id=cid).pack()
        )
    )
    return kb.as_markup()


# --- the purchase dialog ---


def dialog_keyboard(step: str, extra: Sequence[tuple[str, str]] = ()) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    row = [
        InlineKeyboardButton(text=label(text), callback_data=ChoiceCb(step=step, value=value).pack())
        for text, value in extra
    ]
    if row:
        kb.row(*row)
    kb.row(InlineKeyboardButton(text=_("Cancel"), callback_data=ChoiceCb(step=step, value="cancel").pack()))
    return kb.as_markup()


def ask_amount(name: str, currency: str) -> str:
    return _(
        "🛒 Purchase for <b>{name}</b>. What is the amount? In {currency}, for example: 12500 or 12 500,50."
    ).format(name=h(name), currency=currency)


def ask_points(q: Quote, balance: int) -> str:
    lines = [
        _("Amount: {amount}").format(amount=cash(q.amount, q.currency)),
        _("Tier {tier}: discount {discount}% → {discounted}").format(
            tier=h(tier_name(q.tier.name)),
            discount=pct(q.tier.discount),
            discounted=cash(q.discounted, q.currency),
        ),
        _("Balance: {points} points; up to {max} can pay for this purchase.").format(
            points=pts(balance), max=pts(q.max_points)
        ),
        "",
        _("How many points to redeem? Type a number or press a button."),
    ]
    return "\n".join(lines)


def points_keyboard(step: str, q: Quote) -> InlineKeyboardMarkup:
    extra = [(_("No points"), "0")]
    if q.max_points > 0:
        extra.append((_("Maximum: {points}").format(points=pts(q.max_points)), str(q.max_points)))
    return dialog_keyboard(step, extra)


def confirm_text(name: str, q: Quote) -> str:
    lines = [
        _("Check the purchase for <b>{name}</b>:").format(name=h(name)),
        _("Amount: {amount}").format(amount=cash(q.amount, q.currency)),
        _("Discount ({tier}, {discount}%): −{value}").format(
            tier=h(tier_name(q.tier.name)),
            discount=pct(q.tier.discount),
            value=cash(q.amount - q.discounted, q.currency),
        ),
        _("Paid with points: {points}").format(points=pts(q.points)),
        _("To pay: {amount}").format(amount=cash(q.paid, q.currency)),
        _("Points earned: +{points}").format(points=pts(q.earned)),
    ]
    return "\n".join(lines)


def confirm_keyboard(step: str, token: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.row(
        InlineKeyboardButton(text=_("✅ Confirm"), callback_data=ChoiceCb(step=step, value=token).pack()),
        InlineKeyboardButton(text=_("Cancel"), callback_data=ChoiceCb(step=step, value="cancel").pack()),
    )
    return kb.as_markup()


def recorded_text(balance: int, *, again: bool, rewarded: bool) -> str:
    if again:
        return _("This purchase is already recorded. Balance: {points} points.").format(points=pts(balance))
    text = _("✅ Purchase recorded. Balance: {points} points.").format(points=pts(balance))
    if rewarded:
        text += "\n" + _("🤝 The first purchase of a referred customer: both sides got the referral bonus.")
    return text


def ask_reversal(name: str, balance: int) -> str:
    return _(
        "↩️ Points correction for <b>{name}</b> (balance {points}). Send the points with a sign and the "
        "reason, for example “+100 goodwill” or “-50 returned goods”."
    ).format(name=h(name), points=pts(balance))


# --- the customer: /balance, /gifts, /referral ---


def balance_text(s: Summary, tz: str, currency: str) -> str:
    lines = [
        _("🎁 <b>Your points: {points}</b>").format(points=pts(s.balance)),
        tier_line(s),
        next_tier_line(s, currency),
    ]
    if s.expiring:
        lines.append(_("Expiring in the next 30 days: {points}").format(points=pts(s.expiring)))
    if s.entries:
        lines += ["", _("<b>Last entries</b>")]
        lines += [entry_line(e, tz) for e in s.entries]
    else:
        lines += ["", _("No entries yet. Points come with purchases.")]
    return "\n".join(lines)


def gifts_text(balance: int, gifts: Sequence[Gift]) -> str:
    lines = [_("🎁 <b>Gifts for points</b> — you have {points}.").format(points=pts(balance))]
    if not gifts:
        lines.append(_("There are no gifts yet."))
        return "\n".join(lines)
    affordable = [g for g in gifts if g.points <= balance]
    lines.append(_("Tap a gift to request it.") if affordable else _("Not enough points for any gift yet."))
    lines.append("")
    for g in gifts:
        if g.points <= balance:
            lines.append(f"✅ {h(g.name)} — {pts(g.points)}")
        else:
            lines.append(
                "🔒 "
                + _("{gift} — {points} ({more} more needed)").format(
                    gift=h(g.name), points=pts(g.points), more=pts(g.points - balance)
                )
            )
    return "\n".join(lines)


def gifts_keyboard(balance: int, gifts: Sequence[Gift]) -> InlineKeyboardMarkup | None:
    kb = InlineKeyboardBuilder()
    for g in gifts:
        if g.points <= balance:
            kb.row(
                InlineKeyboardButton(
                    text=label(f"🎁 {g.name} — {pts(g.points)}"),
                    callback_data=LoyaltyCb(action=LoyaltyAction.gpick, id=g.id).pack(),
                )
            )
    return kb.as_markup() if kb.buttons else None


def gift_confirm(gift: Gift, nonce: int) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "Request “{gift}” for {points} points? The points are held until your manager hands the gift over."
    ).format(gift=h(gift.name), points=pts(gift.points))
    kb = InlineKeyboardBuilder()
    kb.row(
        InlineKeyboardButton(
            text=_("✅ Request"),
            callback_data=LoyaltyCb(action=LoyaltyAction.greq, id=gift.id, arg=nonce).pack(),
        ),
        InlineKeyboardButton(text=_("✖️ No"), callback_data=LoyaltyCb(action=LoyaltyAction.gno).pack()),
    )
    return text, kb.as_markup()


def gift_requested(gift_name: str, points: int, balance: int, *, again: bool) -> str:
    if again:  # an alert (plain text, not HTML)
        return _("You have already requested “{gift}”.").format(gift=gift_name)
    return _(
        "✅ Requested: “{gift}”. {points} points are held; your manager will hand the gift over. "
        "Balance: {balance}."
    ).format(gift=h(gift_name), points=pts(points), balance=pts(balance))


def referral_text(link: str, bonus: int) -> str:
    return _(
        "🤝 Your personal link:\n{link}\n\nA friend who opens it, joins and makes a first purchase gets "
        "{points} points — and so do you."
    ).format(link=h(link), points=pts(bonus))


def referral_keyboard(link: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📤 Share the link"), url=f"https://t.me/share/url?url={link}")
    return kb.as_markup()


# --- /loyalty: settings and the gift catalog (admins) ---


def setting_value(prog: Program, name: str, currency: str) -> str:
    if name == "earn_percent":
        return pct(prog.earn_percent) + "%"
    if name == "redeem_share":
        return f"{prog.redeem_share}%"
    if name == "tiers":
        return "; ".join(tier_summary(t, currency) for t in prog.tiers)
    return pts(getattr(prog, name))


def tier_summary(t: Tier, currency: str) -> str:
    return _("{tier} {discount} from {amount}").format(
        tier=h(tier_name(t.name)), discount=f"{pct(t.discount)}%", amount=cash(t.threshold, currency)
    )


def settings_text(prog: Program, currency: str) -> str:
    lines = [
        _("⚙️ <b>Bonus program</b>"),
        _("Points per purchase: {value} of what is paid in money").format(
            value=setting_value(prog, "earn_percent", currency)
        ),
        _("Welcome bonus: {points}").format(points=pts(prog.welcome_bonus)),
        _("Birthday bonus: {points}").format(points=pts(prog.birthday_bonus)),
        _("Referral bonus, to each side: {points}").format(points=pts(prog.referral_bonus)),
        _("Points expire after {days} days, oldest first").format(days=prog.expiry_days),
        _("Payable with points: up to {share} of a purchase").format(
            share=setting_value(prog, "redeem_share", currency)
        ),
        _("Tiers: {tiers}").format(tiers=setting_value(prog, "tiers", currency)),
        "",
        _("One point is worth 1 {currency}. Tap a setting to change it.").format(currency=currency),
    ]
    return "\n".join(lines)


def settings_keyboard(fields: Sequence[str]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for i, name in enumerate(fields):
        kb.button(text=str(SETTING_LABELS[name]), callback_data=LoyaltyCb(action=LoyaltyAction.set, arg=i))
    kb.button(text=_("🎁 Gift catalog"), callback_data=LoyaltyCb(action=LoyaltyAction.catalog))
    kb.adjust(2)
    return kb.as_markup()


def ask_setting(name: str, prog: Program, currency: str, tiers_plain: str) -> str:
    hints = {
        "earn_percent": _("A percent from 0 to 100, e.g. 5 or 2.5."),
        "welcome_bonus": _("Points, a whole number, e.g. 100."),
        "birthday_bonus": _("Points, a whole number, e.g. 200."),
        "referral_bonus": _("Points, a whole number, e.g. 300."),
        "expiry_days": _("Days, from 1 to 3650, e.g. 365."),
        "redeem_share": _("A percent from 0 to 100, e.g. 30."),
        "tiers": _("Each tier as name, total spend from, discount %, separated by “;”. Now: {tiers}").format(
            tiers=h(tiers_plain)
        ),
    }
    return _("Send the new value of “{setting}”. Now: {value}.\n{hint}").format(
        setting=h(str(SETTING_LABELS[name])), value=setting_value(prog, name, currency), hint=hints[name]
    )


def catalog_text(gifts: Sequence[Gift]) -> str:
    lines = [_("🎁 <b>Gift catalog</b>")]
    if not gifts:
        lines.append(_("No gifts yet. Add the first one."))
    else:
        lines.append(_("Tap a gift to hide it from customers or show it again."))
        lines.append("")
        for g in gifts:
            mark = "👁" if g.active else "🙈"
            state = "" if g.active else " " + _("(hidden)")
            lines.append(f"{mark} {h(g.name)} — {pts(g.points)}{state}")
    return "\n".join(lines)


def catalog_keyboard(gifts: Sequence[Gift]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for g in gifts:
        mark = "👁" if g.active else "🙈"
        kb.row(
            InlineKeyboardButton(
                text=label(f"{mark} {g.name} — {pts(g.points)}"),
                callback_data=LoyaltyCb(action=LoyaltyAction.gtoggle, id=g.id).pack(),
            )
        )
    kb.row(
        InlineKeyboardButton(
            text=_("➕ Add a gift"), callback_data=LoyaltyCb(action=LoyaltyAction.gadd).pack()
        ),
        InlineKeyboardButton(
            text=_("« Settings"), callback_data=LoyaltyCb(action=LoyaltyAction.settings).pack()
        ),
    )
    return kb.as_markup()


def ask_gift() -> str:
    return _("Send the gift's name and its price in points, for example: Coffee mug 500")


# --- notices (queued; rendered in the recipient's language when sent) ---


def _gift_task_keyboard(p: dict[str, Any]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    rid = int(p["request_id"])
    kb.row(
        InlineKeyboardButton(
            text=_("✅ Handed over"), callback_data=LoyaltyCb(action=LoyaltyAction.ghand, id=rid).pack()
        ),
        InlineKeyboardButton(
            text=_("✖️ Cancel"), callback_data=LoyaltyCb(action=LoyaltyAction.gcancel, id=rid).pack()
        ),
    )
    kb.row(
        InlineKeyboardButton(
            text=_("👤 Open the card"),
            callback_data=ClientCb(action=CardAction.open, client_id=int(p["client_id"])).pack(),
        )
    )
    return kb.as_markup()


def _gift_task(p: dict[str, Any]) -> Rendered:
    text = _(
        "🎁 <b>{client}</b> asked for the gift “{gift}” ({points} points, held). Hand it over and press "
        "the button; Cancel gives the points back."
    ).format(client=h(p["client"]), gift=h(p["gift"]), points=pts(int(p["points"])))
    return text, _gift_task_keyboard(p)


def _purchase(p: dict[str, Any]) -> Rendered:
    lines = [_("🛒 Your purchase for {amount}.").format(amount=cash(Decimal(p["amount"]), p["currency"]))]
    if int(p["redeemed"]):
        lines.append(_("Paid with points: −{points}").format(points=pts(int(p["redeemed"]))))
    if int(p["earned"]):
        lines.append(_("Points earned: +{points}").format(points=pts(int(p["earned"]))))
    lines.append(_("Balance: {points} points.").format(points=pts(int(p["balance"]))))
    if p.get("tier"):
        lines.append(
            _("🎉 New tier: {tier}, discount {discount}%.").format(
                tier=h(tier_name(p["tier"])), discount=pct(Decimal(p["discount"]))
            )
        )
    return "\n".join(lines), None


def _bonus(p: dict[str, Any]) -> Rendered:
    points, balance = pts(int(p["points"])), pts(int(p["balance"]))
    kind = p["kind"]
    if kind == m.WELCOME:
        text = _("🎁 Welcome to our bonus program! +{points} points. Balance: {balance}.")
    elif kind == m.BIRTHDAY:
        text = _("🎂 Happy birthday! Here are +{points} points from us. Balance: {balance}.")
    else:
        text = _("🤝 Referral bonus: +{points} points. Balance: {balance}.")
    return text.format(points=points, balance=balance), None


def _reversal(p: dict[str, Any]) -> Rendered:
    return _("↩️ Your points were corrected: {points}. Reason: {reason}. Balance: {balance}.").format(
        points=signed(int(p["points"])), reason=h(p["reason"]), balance=pts(int(p["balance"]))
    ), None


def _gift_closed(p: dict[str, Any]) -> Rendered:
    if p["handed"]:
        return _("🎁 The gift “{gift}” was handed over. Enjoy!").format(gift=h(p["gift"])), None
    return _("The request for “{gift}” was cancelled; {points} points are back. Balance: {balance}.").format(
        gift=h(p["gift"]), points=pts(int(p["points"])), balance=pts(int(p["balance"]))
    ), None


# The notices drawn here, by name (bot/notices.py lists every module's).
NOTICES: dict[str, Notice] = {
    "loyalty_gift_task": _gift_task,
    "loyalty_purchase": _purchase,
    "loyalty_bonus": _bonus,
    "loyalty_reversal": _reversal,
    "loyalty_gift_closed": _gift_closed,
}


def gift_task_reminder(gift: str, client: str) -> str:
    """The owner manager's reminder to hand a requested gift over (stored plain text, shown escaped)."""
    return _("🎁 Hand over the gift “{gift}” to {client}").format(gift=gift, client=client)
