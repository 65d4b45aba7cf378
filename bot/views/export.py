"""/export: the dataset, filter and format buttons, the column headers in the reader's language (XLSX),
and the captions of the documents."""

from __future__ import annotations

from dataclasses import replace

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel.numbers import format_decimal

from bot.callbacks import ExportAction, ExportCb
from bot.keyboards import label
from bot.text import h
from bot.views.clients import status_name
from bot.views.segments import SEGMENT_LABELS
from models.clients import ClientStatus
from services.errors import DomainError
from services.export.datasets import ADMIN_ONLY, COLUMNS, Dataset
from services.export.files import Column, Format

CALLBACK_LIMIT = 64

DATASET_NAMES = {
    Dataset.clients: __("Clients"),
    Dataset.deals: __("Deals"),
    Dataset.contacts: __("Contact log"),
    Dataset.purchases: __("Purchases"),
    Dataset.surveys: __("Survey answers"),
    Dataset.audit: __("Audit trail"),
    Dataset.campaigns: __("Broadcast results"),
}

LABELS = {
    "id": __("ID"),
    "name": __("Name"),
    "phone": __("Phone"),
    "phones": __("Other phones"),
    "email": __("Email"),
    "company": __("Company"),
    "position": __("Position"),
    "status": __("Status"),
    "tags": __("Tags"),
    "source": __("Source"),
    "birthday": __("Birthday"),
    "owner_id": __("Owner ID"),
    "owner": __("Owner"),
    "created_at": __("Created"),
    "last_contact_at": __("Last contact"),
    "rfm_r": __("R (recency)"),
    "rfm_f": __("F (frequency)"),
    "rfm_m": __("M (monetary)"),
    "rfm_segment": __("RFM segment"),
    "abc_class": __("ABC class"),
    "vip": __("VIP"),
    "revenue_365d": __("Revenue, 365 days"),
    "client_id": __("Client ID"),
    "client": __("Client"),
    "title": __("Title"),
    "stage": __("Stage"),
    "amount": __("Amount"),
    "currency": __("Currency"),
    "expected_close": __("Expected close"),
    "lost_reason": __("Lost reason"),
    "closed_at": __("Closed"),
    "occurred_at": __("When"),
    "kind": __("Kind"),
    "outcome": __("Outcome"),
    "note": __("Note"),
    "author_id": __("Author ID"),
    "author": __("Author"),
    "purchased_at": __("Bought"),
    "tier": __("Tier"),
    "discount_percent": __("Discount, %"),
    "discounted": __("After discount"),
    "points_redeemed": __("Points paid"),
    "paid": __("Paid"),
    "points_earned": __("Points earned"),
    "origin": __("Origin"),
    "manager_id": __("Manager ID"),
    "manager": __("Manager"),
    "trigger": __("Occasion"),
    "sent_at": __("Sent"),
    "csat": __("CSAT"),
    "csat_at": __("CSAT answered"),
    "nps": __("NPS"),
    "nps_at": __("NPS answered"),
    "comment": __("Comment"),
    "at": __("When"),
    "actor_id": __("Person ID"),
    "actor": __("Person"),
    "action": __("Change"),
    "target": __("Object"),
    "before": __("Before"),
    "after": __("After"),
    "audience": __("Audience"),
    "segment_id": __("Segment ID"),
    "text": __("Text"),
    "paid_broadcast": __("Paid broadcast"),
    "scheduled_for": __("Scheduled for (recipient's time)"),
    "started_at": __("Started"),
    "finished_at": __("Finished"),
    "delivery_queued": __("Queued"),
    "delivery_sending": __("Being sent"),
    "delivery_sent": __("Messages sent"),
    "delivery_blocked": __("Blocked"),
    "delivery_no_consent": __("No consent"),
    "delivery_capped": __("Over the weekly limit"),
    "delivery_failed": __("Failed"),
    "delivery_unknown": __("Unknown (not resent)"),
    "left": __("Left to send"),
    "interested": __("Interested (button)"),
    "link_clicks": __("Opened the link"),
    "unsubscribed": __("Unsubscribed within 7 days"),
    "buyers": __("Bought within 7 days"),
    "purchases": __("Purchases within 7 days"),
    "link": __("Tracked link"),
}

FILTERS = {"seg": "segment", "st": "status", "tag": "tag", "own": "owner", "vip": "vip"}


def columns(dataset: Dataset) -> list[Column]:
    """The dataset's columns with headers in the current language (CSV keeps the keys)."""
    return [replace(c, label=str(LABELS.get(c.key, c.key))) for c in COLUMNS[dataset]]


def dataset_name(dataset: Dataset) -> str:
    return str(DATASET_NAMES[dataset])


def params_of(cb: ExportCb) -> dict[str, object]:
    """The filter a button carries, as the export request keeps it."""
    key = FILTERS.get(cb.k)
    if key is None or not cb.v:
        return {}
    if key == "owner":
        return {key: int(cb.v)} if cb.v.isdigit() else {}
    if key == "vip":
        return {key: True}
    return {key: cb.v}


def _button(text: str, cb: ExportCb) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=label(text), callback_data=cb.pack())


def menu_text() -> str:
    return _("📤 <b>Export</b>\nWhat would you like to export?")


def menu_markup(admin: bool) -> InlineKeyboardMarkup:
    rows = [
        [_button(dataset_name(d), ExportCb(action=ExportAction.dataset, ds=d.value))]
        for d in Dataset
        if admin or d not in ADMIN_ONLY
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def filters_text() -> str:
    return _("📤 <b>Clients</b>: which of them?")


def filters_markup(admin: bool) -> InlineKeyboardMarkup:
    ds = Dataset.clients.value
    rows = [
        [_button(_("All clients"), ExportCb(action=ExportAction.formats, ds=ds))],
        [_button(_("By RFM segment"), ExportCb(action=ExportAction.filter, ds=ds, k="seg"))],
        [_button(_("By status"), ExportCb(action=ExportAction.filter, ds=ds, k="st"))],
        [_button(_("By tag"), ExportCb(action=ExportAction.filter, ds=ds, k="tag"))],
        [_button(_("VIP only"), ExportCb(action=ExportAction.formats, ds=ds, k="vip", v="1"))],
    ]
    if admin:
        rows.append([_button(_("By owner"), ExportCb(action=ExportAction.filter, ds=ds, k="own"))])
    rows.append([_button(_("« Back"), ExportCb(action=ExportAction.menu))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def values_text(key: str, empty: bool) -> str:
    if empty:
        return _("Nothing to choose from yet.")
    return {
        "seg": _("Which segment (from the latest RFM run)?"),
        "st": _("Which status?"),
        "tag": _("Which tag?"),
        "own": _("Whose clients?"),
    }.get(key, _("Which one?"))


def values_markup(key: str, choices: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """(value, label) pairs as buttons; a value too long for a button's data is left out."""
    ds = Dataset.clients.value
    rows = []
    for value, text in choices:
        cb = ExportCb(action=ExportAction.formats, ds=ds, k=key, v=value, fmt="xlsx")
        if len(cb.pack().encode()) <= CALLBACK_LIMIT:
            rows.append([_button(text, cb.model_copy(update={"fmt": ""}))])
    rows.append([_button(_("« Back"), ExportCb(action=ExportAction.dataset, ds=ds))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def segment_choices() -> list[tuple[str, str]]:
    return [(key.value, str(name)) for key, name in SEGMENT_LABELS.items()]


def status_choices() -> list[tuple[str, str]]:
    return [(s.value, status_name(s)) for s in ClientStatus]


def formats_text(dataset: Dataset) -> str:
    return _(
        "📤 <b>{what}</b>: which format?\nXLSX has headers in your language and local times; CSV (UTF-8) "
        "has stable English headers and UTC times, for other programs."
    ).format(what=dataset_name(dataset))


def formats_markup(cb: ExportCb) -> InlineKeyboardMarkup:
    base = {"ds": cb.ds, "k": cb.k, "v": cb.v}
    back = ExportCb(action=ExportAction.dataset if cb.ds == Dataset.clients else ExportAction.menu, ds=cb.ds)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(
                    _("XLSX (for people)"), ExportCb(action=ExportAction.go, fmt=Format.XLSX.value, **base)
                ),
                _button(
                    _("CSV (for machines)"), ExportCb(action=ExportAction.go, fmt=Format.CSV.value, **base)
                ),
            ],
            [_button(_("« Back"), back)],
        ]
    )


def preparing_text(dataset: Dataset, fmt: Format) -> str:
    return _("⏳ Preparing your export: {what}, {fmt}… The file will arrive in this chat.").format(
        what=dataset_name(dataset), fmt=fmt.value.upper()
    )


def filename(dataset: Dataset, fmt: Format, day: str, part: int, parts: int) -> str:
    tail = f"-part{part}of{parts}" if parts > 1 else ""
    return f"{dataset.value}-{day}{tail}.{fmt.value}"


def caption(dataset: Dataset, fmt: Format, rows: int, part: int, parts: int, locale: str) -> str:
    text = _("📤 {what} ({fmt}): {rows} rows").format(
        what=h(dataset_name(dataset)), fmt=fmt.value.upper(), rows=format_decimal(rows, locale=locale)
    )
    if parts > 1:
        text += "\n" + _("Part {part} of {parts}").format(part=part, parts=parts)
    return text


def export_error(e: DomainError) -> str:
    return {
        "export_running": _("An export of yours is already being prepared: it will arrive shortly."),
        "not_allowed": _("Only an admin can export this."),
    }.get(e.code, _("This export is not available."))
