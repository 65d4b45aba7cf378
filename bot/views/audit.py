"""The audit trail as people read it: one line per change (when, in the reader's time zone; who; what;
before → after), the card's 🕓 Changes (numbered pages, with a total) and /audit with its filters
(Newer / Older from the page's cursor, no total: counting would read the whole trail) and the client
search. Every value is escaped."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import AuditAction, AuditCb, CardAction, ClientCb
from bot.formatting import local_dt
from bot.keyboards import label
from bot.text import h
from bot.views.clients import client_label, field_name, status_name
from bot.views.consent import purpose_name
from bot.views.deals import stage_name
from bot.views.team import role_name
from models.clients import ClientStatus
from models.consent import Purpose
from models.users import Role, User
from services.audit import NEWER, OLDER, Item, Page, Window
from services.clients.lists import ListRow

VALUE_LIMIT = 120  # characters of a before/after value shown in a line
PERIODS = (1, 7, 30, 90, 0)  # days; 0: all time


def _action(item: Item) -> str:
    kind, _dot, what = item.action.partition(".")
    if kind == "client":
        fixed = {
            "create": _("Client added"),
            "owner": _("Owner"),
            "merge": _("Merged with"),
            "merged_into": _("Merged into"),
        }
        if what in fixed:
            return fixed[what]
        try:
            return field_name(what)
        except KeyError:
            return what
    if kind == "deal":
        fields = {
            "created": _("new deal"),
            "create": _("new deal"),
            "stage": _("stage"),
            "title": _("title"),
            "amount": _("amount"),
            "close_date": _("expected close"),
            "lost_reason": _("lost reason"),
            "owner": _("owner"),
            "nudge": _("reminder about a quiet deal"),
        }
        return _("Deal «{title}»: {what}").format(title=h(item.note or ""), what=fields.get(what, h(what)))
    if kind == "consent":
        try:
            return _("Consent: {purpose}").format(purpose=purpose_name(Purpose(what)))
        except ValueError:
            return _("Consent: {purpose}").format(purpose=h(what))
    if kind == "points":
        return _("Points ({kind})").format(kind=h(what))
    names = {
        "team.promote": _("Role"),
        "team.demote": _("Role"),
        "team.deactivate": _("Access"),
        "team.reactivate": _("Access"),
        "invite.redeem": _("Joined the team"),
        "invite.create": _("Invite created"),
        "customer.link": _("Telegram account linked"),
        "customer.forget": _("Asked to be forgotten"),
        "customer.lead_take": _("Lead taken"),
        "customer.lead": _("Lead left"),
        "customer.forget_handled": _("Forget request handled"),
    }
    return names.get(item.action, h(item.action))


def _value(item: Item, value: str | None) -> str:
    if value is None or value == "":
        return "—"
    kind = item.action.partition(".")[0]
    shown: str | None = None
    if item.action == "client.status" and value in ClientStatus.__members__:
        shown = status_name(ClientStatus(value))
    elif item.action == "deal.stage":
        shown = stage_name(value)
    elif kind == "consent":
        shown = _("given") if value == "true" else _("withdrawn")
    elif kind in ("team", "invite") and value in Role.__members__:
        shown = role_name(Role(value)) if value in (Role.admin, Role.manager) else value
    elif kind == "team" and value in ("active", "inactive"):
        shown = _("active") if value == "active" else _("deactivated")
    if shown is None:
        shown = value if len(value) <= VALUE_LIMIT else value[: VALUE_LIMIT - 1] + "…"
    return h(shown)


def item_line(item: Item, tz: str, locale: str, *, with_client: bool) -> str:
    when = local_dt(item.at, tz, locale, "d MMM y, HH:mm")
    who = h(item.actor_name) if item.actor_name else _("the system")
    head = f"<i>{when}</i> · {who}"
    if with_client and item.client_id is not None:
        head += " · " + h(item.client_name or f"#{item.client_id}")
    elif with_client and item.target and item.target.startswith("user:"):
        head += " · " + _("team member {id}").format(id=h(item.target[5:]))
    change = f"{_value(item, item.before)} → {_value(item, item.after)}"
    extra = f" ({h(item.note)})" if item.source == "points" and item.note else ""
    return f"{head}\n<b>{_action(item)}</b>: {change}{extra}"


def _lines(items: list[Item], tz: str, locale: str, *, with_client: bool) -> list[str]:
    if not items:
        return [_("No changes recorded.")]
    return [item_line(i, tz, locale, with_client=with_client) for i in items]


def _footer(page: Page) -> str:
    return _("Page {page} of {pages} · {total} changes").format(
        page=page.page + 1, pages=page.pages, total=page.total
    )


# --- the card's changes ---


def changes_text(client_name: str, page: Page, tz: str, locale: str) -> str:
    head = _("🕓 <b>Changes</b> of {name}, newest first").format(name=h(client_name))
    return "\n\n".join([head, *_lines(page.items, tz, locale, with_client=False), _footer(page)])


def changes_markup(client_id: int, page: Page) -> InlineKeyboardMarkup:
    nav = []
    if page.page > 0:
        cb = ClientCb(action=CardAction.changes, client_id=client_id, page=page.page - 1)
        nav.append(InlineKeyboardButton(text=_("◀ Newer"), callback_data=cb.pack()))
    if page.page < page.pages - 1:
        cb = ClientCb(action=CardAction.changes, client_id=client_id, page=page.page + 1)
        nav.append(InlineKeyboardButton(text=_("Older ▶"), callback_data=cb.pack()))
    rows = [nav] if nav else []
    back = ClientCb(action=CardAction.history, client_id=client_id).pack()
    rows.append([InlineKeyboardButton(text=_("« History"), callback_data=back)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


# --- /audit ---


def period_name(days: int) -> str:
    if days == 0:
        return _("all time")
    if days == 1:
        return _("last 24 hours")
    return _("last {days} days").format(days=days)


def audit_text(
    window: Window, cb: AuditCb, actor: str | None, client: str | None, tz: str, locale: str
) -> str:
    filters = _("Person: {actor} · Client: {client} · Period: {period}").format(
        actor=h(actor) if actor else _("anyone"),
        client=h(client) if client else _("any"),
        period=period_name(cb.days),
    )
    head = _("🗂 <b>Audit trail</b>, newest first") + "\n" + filters
    parts = [head, *_lines(window.items, tz, locale, with_client=True)]
    if window.items and window.newer and not window.older:
        parts.append(_("Nothing older: this is where the trail begins."))
    return "\n\n".join(parts)


def moved_text() -> str:
    return _("Those changes are no longer there: here are the newest.")


def _cb(cb: AuditCb, action: AuditAction, **changes: object) -> str:
    values = {"actor": cb.actor, "client": cb.client, "days": cb.days, "cur": "", "fmt": ""} | changes
    return AuditCb(action=action, **values).pack()  # type: ignore[arg-type]


def audit_markup(window: Window, cb: AuditCb) -> InlineKeyboardMarkup:
    rows = []
    nav = []
    newer, older = window.cursor(NEWER), window.cursor(OLDER)
    if window.newer and newer is not None:
        nav.append(
            InlineKeyboardButton(
                text=_("◀ Newer"), callback_data=_cb(cb, AuditAction.list, cur=newer.token())
            )
        )
    if window.older and older is not None:
        nav.append(
            InlineKeyboardButton(
                text=_("Older ▶"), callback_data=_cb(cb, AuditAction.list, cur=older.token())
            )
        )
    if nav:
        rows.append(nav)
    rows.append(
        [
            InlineKeyboardButton(text=_("👤 Person"), callback_data=_cb(cb, AuditAction.actors)),
            InlineKeyboardButton(text=_("🗂 Client"), callback_data=_cb(cb, AuditAction.clients)),
            InlineKeyboardButton(text=_("📅 Period"), callback_data=_cb(cb, AuditAction.periods)),
        ]
    )
    rows.append([InlineKeyboardButton(text=_("📤 Export"), callback_data=_cb(cb, AuditAction.export))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def actors_markup(cb: AuditCb, people: list[User]) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=_("Anyone"), callback_data=_cb(cb, AuditAction.list, actor=0))]]
    for person in people:
        mark = "• " if person.id == cb.actor else ""
        rows.append(
            [
                InlineKeyboardButton(
                    text=label(mark + person.display_name),
                    callback_data=_cb(cb, AuditAction.list, actor=person.id),
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def clients_markup(cb: AuditCb, clients: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    """The client filter's menu: any client, then `clients` (id, name) — the recently changed ones."""
    rows = [[InlineKeyboardButton(text=_("Any client"), callback_data=_cb(cb, AuditAction.list, client=0))]]
    for client_id, name in clients:
        mark = "• " if client_id == cb.client else ""
        rows.append(
            [
                InlineKeyboardButton(
                    text=label(mark + name), callback_data=_cb(cb, AuditAction.list, client=client_id)
                )
            ]
        )
    rows.append([_back(cb)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def found_markup(cb: AuditCb, found: list[ListRow]) -> InlineKeyboardMarkup:
    """The clients a typed search found, each showing its own timeline with the other filters kept."""
    rows = [
        [InlineKeyboardButton(text=client_label(row), callback_data=_cb(cb, AuditAction.list, client=row.id))]
        for row in found
    ]
    rows.append(
        [InlineKeyboardButton(text=_("Any client"), callback_data=_cb(cb, AuditAction.list, client=0))]
    )
    rows.append([_back(cb)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _back(cb: AuditCb) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("« Audit trail"), callback_data=_cb(cb, AuditAction.list))


def periods_markup(cb: AuditCb) -> InlineKeyboardMarkup:
    rows = []
    for days in PERIODS:
        mark = "• " if days == cb.days else ""
        rows.append(
            [
                InlineKeyboardButton(
                    text=mark + period_name(days), callback_data=_cb(cb, AuditAction.list, days=days)
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def choose_actor_text() -> str:
    return _("Whose changes?")


def choose_client_text() -> str:
    return _(
        "Which client? Send part of a name, company, email or phone number to search, "
        "or pick one of the clients changed most recently:"
    )


def found_text(query: str, found: list[ListRow], more: bool) -> str:
    if not found:
        return _(
            "🔎 No client found for «{query}». Send another part of a name, company, email or phone number."
        ).format(query=h(query))
    text = _("🔎 Clients found for «{query}»: whose changes?").format(query=h(query))
    if more:
        text += "\n" + _("Only the first {count} are shown: send more of the name to narrow it down.").format(
            count=len(found)
        )
    return text


def search_text_only() -> str:
    return _("Send the client's name or part of their phone number as text, or pick one of the buttons.")


def query_too_long_text(limit: int) -> str:
    return _("That's too long to search for: send at most {limit} characters.").format(limit=limit)


def choose_period_text() -> str:
    return _("Which period?")


def export_formats_markup(cb: AuditCb) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("XLSX (for people)"), callback_data=_cb(cb, AuditAction.export, fmt="xlsx")
                ),
                InlineKeyboardButton(
                    text=_("CSV (for machines)"), callback_data=_cb(cb, AuditAction.export, fmt="csv")
                ),
            ],
            [_back(cb)],
        ]
    )


def choose_format_text() -> str:
    return _("📤 Export the audit trail with this filter: which format?")


def bad_button_text() -> str:
    return _("This button is no longer valid.")
