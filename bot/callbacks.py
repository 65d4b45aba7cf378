"""CallbackData schemas. Packed payloads must stay within Telegram's 64 bytes (a test checks)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class LanguageCb(CallbackData, prefix="lang"):
    code: str


class TeamAction(StrEnum):
    """/team buttons (handlers/team.py). The values are what Telegram carries: never change one."""

    list = "list"  # a page of the team
    open = "open"  # one member's card
    deactivate = "deactivate"
    reactivate = "reactivate"
    promote = "promote"
    demote = "demote"


class TeamCb(CallbackData, prefix="team"):
    action: TeamAction
    user_id: int = 0
    page: int = 0


# --- Manager workspace. Shared by several handler modules; each action below names its owner. ---


class CardAction(StrEnum):
    """What a button on a client card does; the handler module that owns each is named beside it.
    The values are what Telegram carries in callback_data: never change one (old buttons would stop
    working), only add."""

    open = "open"  # handlers/clients/card
    edit = "edit"  # handlers/clients/edit (arg = the field's place in EDITABLE, from 1; 0: the menu)
    status = "status"  # handlers/clients/card (arg = the status's place, from 1)
    delphone = "delphone"  # handlers/clients/edit (arg = the phone's id)
    addphone = "addphone"  # handlers/clients/edit
    note = "note"  # handlers/clients/edit
    merge = "merge"  # handlers/clients/merge (arg = the other client's id)
    mergeok = "mergeok"  # handlers/clients/merge (arg = the other client's id)
    owner = "owner"  # handlers/clients/owner (admins; arg = the new owner's id, 0: the menu)
    log = "log"  # handlers/interactions
    history = "history"  # handlers/interactions
    voice = "voice"  # handlers/interactions (arg = interaction id)
    remind = "remind"  # handlers/reminders
    deals = "deals"  # handlers/deals
    newdeal = "newdeal"  # handlers/deals
    invite = "invite"  # handlers/customers
    consent = "consent"  # handlers/consent
    loyalty = "loyalty"  # handlers/loyalty
    vip = "vip"  # handlers/analytics/vip (admins: set or clear the manual VIP flag)
    changes = "changes"  # handlers/audit (the card's change history; page = the page)
    drips = "drips"  # handlers/sequences (the client's drip sequences: enrolments, Stop, Enrol)


class ClientCb(CallbackData, prefix="c"):
    """Buttons on a client card. `version` is the card's version when it was drawn: an action that
    changes data refuses a stale one ("the card changed") and shows the card again."""

    action: CardAction
    client_id: int
    version: int = 0
    page: int = 0
    arg: int = 0  # action-specific small number (e.g. the other client's id for merge lives elsewhere)


class ReminderAction(StrEnum):
    """A delivered (or just created) reminder's buttons — handlers/reminders/buttons.py."""

    done = "done"
    cancel = "cancel"
    s15 = "s15"  # snooze 15 minutes
    s60 = "s60"  # snooze an hour
    tomorrow = "tomorrow"  # snooze to tomorrow morning


class ReminderCb(CallbackData, prefix="r"):
    """A delivered reminder: done, cancel, and the snoozes — handlers/reminders/buttons.py."""

    action: ReminderAction
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


class ConsentAction(StrEnum):
    set = "set"  # the customer's switch on /consent (handlers/consent/customer.py)
    unsub = "unsub"  # Unsubscribe under a marketing message (handlers/consent/customer.py)
    ask = "ask"  # a manager asks to record a change on the card: confirm first (handlers/consent/card.py)
    rec = "rec"  # ... and confirms it (handlers/consent/card.py)


class ConsentCb(CallbackData, prefix="cn"):
    """handlers/consent: a customer's switches (/consent), Unsubscribe under a marketing message, and a
    manager recording consent on the card (client_id set)."""

    action: ConsentAction
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


class SurveyAction(StrEnum):
    csat = "csat"  # a score on the first question (handlers/surveys/answers.py)
    nps = "nps"  # a score on the second question
    skip = "skip"  # Skip of the comment
    stats = "stats"  # /surveys figures (handlers/surveys/figures.py)
    settings = "settings"  # the admins' settings (handlers/surveys/settings.py)
    on = "on"
    off = "off"
    delay = "delay"


class SurveyCb(CallbackData, prefix="sv"):
    """handlers/surveys: a score pressed on a survey (csat, nps), or Skip of its comment (skip);
    /surveys figures (stats: arg = a manager's id, page = the managers list page) and the admins'
    settings (settings, on, off, delay: trigger names the trigger) with survey_id 0."""

    action: SurveyAction
    survey_id: int
    score: int = -1
    trigger: str = ""
    arg: int = 0
    page: int = 0


class CustomerAction(StrEnum):
    forget = "forget"  # /forget confirmed (handlers/customers/forget.py; id = the client)
    keep = "keep"  # /forget cancelled
    handled = "handled"  # an admin marks a /forget request handled (id = the request)
    take = "take"  # an admin takes a waiting lead (handlers/customers/leads.py; id = the lead)


class CustomerCb(CallbackData, prefix="cu"):
    """handlers/customers: the customer's own account (/forget confirmation) and the admins' side of it
    (a handled /forget request, a waiting lead taken)."""

    action: CustomerAction
    id: int = 0


class ImportAction(StrEnum):
    kind = "kind"  # handlers/imports/steps: what the file holds (arg = the kind's index)
    col = "col"  # a column pressed: its field choices (col = the column)
    map = "map"  # a field chosen for a column (col, arg = the field's index, -1 = ignored)
    back = "back"  # back to the mapping
    check = "check"  # the dry run
    credit = "credit"  # purchases, admins: credit points on/off
    apply = "apply"
    cancel = "cancel"


class ImportCb(CallbackData, prefix="im"):
    """handlers/imports: a step on the import `id`, drawn at its version `v` (a stale button is refused)."""

    action: ImportAction
    id: int = 0
    v: int = 0
    col: int = 0
    arg: int = 0


class RfmAction(StrEnum):
    """A button of /rfm (handlers/analytics/rfm). The values travel in callback_data: only add."""

    show = "show"  # the overview
    seg = "seg"  # a segment's clients (arg = the segment's place in segments.ORDER, page)
    run = "run"  # admins: recompute now


class RfmCb(CallbackData, prefix="rfm"):
    action: RfmAction
    arg: int = 0
    page: int = 0
    run: int = 0  # the run a list page was drawn from: a page of an older run shows the latest


class ReportAction(StrEnum):
    menu = "menu"  # /reports: the list of reports (handlers/analytics/reports.py)
    show = "show"  # a report for a period: its text and chart
    export = "export"  # the report's table as a file (fmt: csv or xlsx)
    level = "level"  # admins: change the competition level r (the satisfaction report)


class ReportCb(CallbackData, prefix="rp"):
    """handlers/analytics/reports.py: a report (report: its key), a period (period: its key), and for
    export the file format."""

    action: ReportAction
    report: str = ""
    period: str = ""
    fmt: str = ""


# --- Export and audit (handlers/export.py, handlers/audit.py). ---


class ExportAction(StrEnum):
    """/export steps. The values travel in callback_data: never change one."""

    menu = "m"  # the datasets
    dataset = "d"  # a dataset chosen: its filters (clients) or the formats
    filter = "f"  # a filter's values (k = the filter)
    formats = "o"  # the format buttons for ds/k/v
    go = "g"  # start the export in `fmt`


class ExportCb(CallbackData, prefix="ex"):
    action: ExportAction
    ds: str = ""
    k: str = ""  # the filter: seg | st | tag | own | vip
    v: str = ""  # its value
    fmt: str = ""


class AuditAction(StrEnum):
    """/audit buttons (handlers/audit.py); the card's change history (CardAction.changes)."""

    list = "l"  # the list with the current filter, from `cur`
    actors = "a"  # choose the person
    clients = "c"  # choose the client (or type a name to search for one)
    periods = "p"  # choose the period
    export = "x"  # the format buttons; with fmt: start the export


class AuditCb(CallbackData, prefix="au"):
    """The filter travels with every button. `cur` is a page's cursor (services/audit.Cursor.token,
    about 16 characters; empty: the newest page): with the largest ids the payload stays under 64 bytes."""

    action: AuditAction
    actor: int = 0  # 0: anyone
    client: int = 0  # 0: any client
    days: int = 0  # the last N days; 0: all time
    cur: str = ""
    fmt: str = ""


# --- Saved segments (handlers/segments). ---


class SegmentAction(StrEnum):
    """A button of /segments (handlers/segments). The values travel in callback_data: only add."""

    list = "l"  # the saved segments (page)
    open = "o"  # one of them: its counts and conditions (id)
    clients = "c"  # its clients (id, page)
    edit = "e"  # edit it (id, v = the version shown)
    delete = "d"  # ask to confirm the delete (id, v)
    drop = "dd"  # ... confirmed (id, v)
    new = "n"  # a new segment: the editor
    # The editor's buttons carry the number of the screen they were drawn on (v): an older one is refused.
    add = "a"  # the fields a condition can be on
    field = "f"  # a field chosen (arg = its place in bot/views/saved_segments.FIELDS)
    pick = "p"  # a value pressed on or off (arg = its place); a yes/no field: the answer (arg 1 / 0)
    mode = "m"  # the tag condition's mode (arg = its place in TagMode)
    done = "ok"  # the values chosen: add the condition
    back = "b"  # back to the editor
    remove = "x"  # remove a condition (arg = its place)
    rename = "r"  # type a name
    save = "s"
    leave = "q"  # leave the editor without saving


class SegmentCb(CallbackData, prefix="sg"):
    action: SegmentAction
    id: int = 0  # the saved segment
    v: int = 0  # its version, or the editor screen's number
    arg: int = 0
    page: int = 0


# --- Prize draws (handlers/draws.py). ---


class DrawAction(StrEnum):
    """A button of /draws (handlers/draws.py). The values travel in callback_data: only add."""

    list = "l"  # the draws (page)
    open = "o"  # one draw (id)
    new = "n"  # a new draw: the segments to pick from (page)
    segment = "s"  # a segment picked (id = the segment): type the prize next
    announce = "a"  # announce the draft (id, v = the version shown)
    cancel = "c"  # ask to confirm calling it off (id, v)
    drop = "cc"  # ... confirmed (id, v)
    file = "f"  # send the participants file (id)


class DrawCb(CallbackData, prefix="dr"):
    action: DrawAction
    id: int = 0
    v: int = 0
    page: int = 0


# --- Follow-ups for neglected clients (handlers/followups.py). ---


class FollowupAction(StrEnum):
    """/followups and the follow-up digest's buttons. The values travel in callback_data: only add."""

    rules = "r"  # the rules (admins)
    edit = "e"  # type a segment's days (arg = its place in services/followups.SEGMENTS)
    snooze = "z"  # the digest's "Snooze 7 days" (client_id)
    open = "o"  # the digest's "Open": the client's card as a new message, the digest stays (client_id)


class FollowupCb(CallbackData, prefix="fu"):
    action: FollowupAction
    arg: int = 0
    client_id: int = 0


# --- Broadcasts (handlers/campaigns). ---


class CampaignAction(StrEnum):
    """A button of /broadcast, a campaign's progress message, /campaigns, or "I'm interested" under a
    campaign's message. The values travel in callback_data: only add."""

    audience = "a"  # the audience chosen (id = a saved segment; 0: every client)
    skip = "k"  # no text in the other language (id = the draft)
    interest = "i"  # toggle the tracked "I'm interested" button (id = the draft)
    test = "t"  # send the preview to myself
    send = "s"  # send it now
    drop = "x"  # throw the draft away
    pause = "p"
    resume = "r"
    cancel = "c"
    interested = "y"  # a recipient pressed "I'm interested" (id = the campaign)
    cap = "cap"  # /campaigns: change the weekly limit
    link = "l"  # add a URL button (id = the draft)
    unlink = "u"  # remove the URL buttons
    when = "w"  # schedule it: type the time
    now = "n"  # not scheduled after all: send now
    paid = "$"  # toggle a paid broadcast (allow_paid_broadcast; id = the draft)
    export = "e"  # /campaigns: export every campaign's results (admins; the export's format buttons)


class CampaignCb(CallbackData, prefix="cp"):
    action: CampaignAction
    id: int = 0


class SequenceAction(StrEnum):
    """A button of /sequences, of a client's drip panel (from the card), or "I'm interested" under a
    drip step. The values travel in callback_data: only add."""

    list = "l"  # every sequence
    new = "n"  # create one: type its name
    open = "o"  # a sequence (id) with its steps and figures
    step = "s"  # add a step (id): choose the delay
    delay = "d"  # the delay chosen (id = the sequence, arg = minutes)
    skip = "k"  # no text in the other language (id = the sequence)
    trigger = "t"  # choose the trigger (id; arg = the trigger's place in TRIGGERS, 0: the menu)
    stage = "g"  # the stage chosen (id; arg = the stage's place in the pipeline, from 1)
    segment = "m"  # the segment chosen (id; arg = the saved segment's id)
    on = "a"  # activate (id)
    off = "x"  # deactivate (id)
    interest = "i"  # toggle the "I'm interested" button of a step (id = the sequence, arg = the step)
    enrol = "e"  # enrol the client (id = the sequence, arg = the client)
    stop = "p"  # stop an enrolment (id = the enrolment)
    interested = "y"  # a recipient pressed "I'm interested" (id = the delivery)
    edit = "v"  # a step's screen (id = the sequence, arg = the step)
    link = "u"  # add a link button to a step: type it (id = the sequence, arg = the step)
    unlink = "w"  # remove a step's link buttons (id = the sequence, arg = the step)
    retext = "r"  # replace a step's text in the default language (id = the sequence, arg = the step)
    retext_other = "q"  # and in the other language (id = the sequence, arg = the step)
    delete = "z"  # delete a step: asks first (id = the sequence, arg = the step)
    sure = "c"  # yes, delete it (id = the sequence, arg = the step)
    rename = "b"  # rename the sequence: type the name (id)
    preview = "f"  # a step as a recipient gets it, sent to the admin (id = the sequence, arg = the step)


class SequenceCb(CallbackData, prefix="sq"):
    action: SequenceAction
    id: int = 0
    arg: int = 0
