"""CallbackData schemas. Packed payloads must stay within Telegram's 64 bytes (a test checks)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class LanguageCb(CallbackData, prefix="lang"):
    code: str


class TeamCb(CallbackData, prefix="team"):
    action: str  # list | open | deactivate | reactivate | promote | demote
    user_id: int = 0
    page: int = 0


# --- Manager workspace. Shared by several handler modules; each action below names its owner. ---


class CardAction(StrEnum):
    """What a button on a client card does; the handler module that owns each is named beside it.
    The values are what Telegram carries in callback_data: never change one (old buttons would stop
    working), only add."""

    open = "open"  # handlers/clients
    edit = "edit"  # handlers/clients
    status = "status"  # handlers/clients
    delphone = "delphone"  # handlers/clients
    addphone = "addphone"  # handlers/clients
    note = "note"  # handlers/clients
    merge = "merge"  # handlers/clients (arg = the other client's id)
    mergeok = "mergeok"  # handlers/clients
    owner = "owner"  # handlers/clients (admins)
    log = "log"  # handlers/interactions
    history = "history"  # handlers/interactions
    voice = "voice"  # handlers/interactions (arg = interaction id)
    remind = "remind"  # handlers/reminders
    deals = "deals"  # handlers/deals
    newdeal = "newdeal"  # handlers/deals
    invite = "invite"  # handlers/customers
    consent = "consent"  # handlers/consent
    loyalty = "loyalty"  # handlers/loyalty


class ClientCb(CallbackData, prefix="c"):
    """Buttons on a client card. `version` is the card's version when it was drawn: an action that
    changes data refuses a stale one ("the card changed") and shows the card again."""

    action: CardAction
    client_id: int
    version: int = 0
    page: int = 0
    arg: int = 0  # action-specific small number (e.g. the other client's id for merge lives elsewhere)


class ReminderCb(CallbackData, prefix="r"):
    """A delivered reminder: done, s15, s60, tomorrow (snoozes) — handlers/reminders.py."""

    action: str
    reminder_id: int
    version: int = 0


class DealAction(StrEnum):
    """A button on a deal card (handlers/deals). The values travel in callback_data: never change one."""

    open = "open"  # handlers/deals/card
    stage = "stage"  # handlers/deals/card (arg = the stage's index)
    edit = "edit"  # handlers/deals/edit (arg = what to change, 0: the menu)
    history = "history"  # handlers/deals/card (arg = the page)


class DealCb(CallbackData, prefix="d"):
    """A deal card — handlers/deals."""

    action: DealAction
    deal_id: int
    version: int = 0
    arg: int = 0


class PipelineScope(StrEnum):
    """Whose deals /deals shows: one's own, or everyone's (admins)."""

    mine = "mine"
    all = "all"


class PipelineCb(CallbackData, prefix="p"):
    """/deals: a scope, a stage index (-1: overview), a page — handlers/deals/pipeline."""

    scope: PipelineScope
    stage: int = -1
    page: int = 0


class PageCb(CallbackData, prefix="pg"):
    """Paging of a list whose query is kept in the dialog data under `key` — any handler module."""

    key: str
    page: int = 0


class ChoiceCb(CallbackData, prefix="ch"):
    """A choice inside a dialog step (skip, cancel, a kind, an outcome, a status...)."""

    step: str
    value: str


# --- Customer side. Each schema belongs to the handler module named in its docstring. ---


class ConsentCb(CallbackData, prefix="cn"):
    """handlers/consent.py: a customer's switches (/consent), Unsubscribe under a marketing message, and a
    manager recording consent on the card (client_id set)."""

    action: str
    purpose: str = ""
    client_id: int = 0
    value: int = 0


class LoyaltyAction(StrEnum):
    """A button of the bonus program (handlers/loyalty). The values travel in callback_data: never
    change one, only add."""

    card = "card"  # handlers/loyalty/card: the points card (id = client)
    hist = "hist"  # handlers/loyalty/card: the points history (id = client, arg = page)
    buy = "buy"  # handlers/loyalty/purchase (id = client, arg = the card's version)
    rev = "rev"  # handlers/loyalty/reversal (id = client, arg = the card's version)
    ghand = "ghand"  # handlers/loyalty/handover: handed over (id = the request)
    gcancel = "gcancel"  # handlers/loyalty/handover: cancelled (id = the request)
    gpick = "gpick"  # handlers/loyalty/customer: a gift chosen in /gifts (id = gift)
    greq = "greq"  # handlers/loyalty/customer: the request confirmed (id = gift, arg = nonce)
    gno = "gno"  # handlers/loyalty/customer: not requested
    settings = "settings"  # handlers/loyalty/settings
    set = "set"  # handlers/loyalty/settings (arg = the field's index)
    catalog = "catalog"  # handlers/loyalty/settings: the gift catalog
    gtoggle = "gtoggle"  # handlers/loyalty/settings (id = gift)
    gadd = "gadd"  # handlers/loyalty/settings


class LoyaltyCb(CallbackData, prefix="ly"):
    """handlers/loyalty: purchases, gifts, the catalog and /loyalty settings."""

    action: LoyaltyAction
    id: int = 0
    arg: int = 0


class SurveyCb(CallbackData, prefix="sv"):
    """handlers/surveys.py: a score pressed on a survey (csat, nps), or Skip of its comment (skip);
    /surveys figures (stats: arg = a manager's id, page = the managers list page) and the admins'
    settings (settings, on, off, delay: trigger names the trigger) with survey_id 0."""

    action: str
    survey_id: int
    score: int = -1
    trigger: str = ""
    arg: int = 0
    page: int = 0


class CustomerCb(CallbackData, prefix="cu"):
    """handlers/customers.py: the customer's own account (/forget confirmation, linking)."""

    action: str
    id: int = 0
