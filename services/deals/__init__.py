"""Deals and the pipeline: creation, stage changes guarded by the deal's version, edits, history,
the per-stage overview, and the stale-deal nudge. Every change is a DealEvent with who and when.

Access follows the client: a manager sees and changes only deals of clients they own (a deal's
owner is its client's owner), admins see everything. Another manager's deal is "not found".

Each section is a submodule (rules, client, parsing, reading, changes, stale); new code imports a name
from the one that owns it. The names other areas use are importable from here as well.
"""

from services.deals.changes import (
    Draft,
    amount_text,
    change_stage,
    create,
    set_amount,
    set_expected_close,
    set_title,
)
from services.deals.client import (
    OpenSummary,
    open_summary,
    touch_client_deals,
)
from services.deals.parsing import (
    CURRENCY_WORDS,
    clean_text,
    clean_title,
    parse_amount,
    parse_currency,
)
from services.deals.reading import (
    HISTORY_PAGE,
    LIST_PAGE,
    SEARCH_LIMIT,
    Card,
    Page,
    StageTotals,
    card,
    client_deals,
    find_clients,
    history,
    next_step,
    owner_names,
    pipeline,
    stage_deals,
    visible_deal,
)
from services.deals.rules import (
    CENT,
    CLOSED_STAGES,
    MAX_AMOUNT,
    REASON_LIMIT,
    STEP_LIMIT,
    TITLE_LIMIT,
)
from services.deals.stale import (
    STALE_BATCH,
    is_stale,
    mark_nudged,
    nudge_key,
    stale_cutoff,
    stale_deals,
)

__all__ = [
    "CENT",
    "CLOSED_STAGES",
    "CURRENCY_WORDS",
    "HISTORY_PAGE",
    "LIST_PAGE",
    "MAX_AMOUNT",
    "REASON_LIMIT",
    "SEARCH_LIMIT",
    "STALE_BATCH",
    "STEP_LIMIT",
    "TITLE_LIMIT",
    "Card",
    "Draft",
    "OpenSummary",
    "Page",
    "StageTotals",
    "amount_text",
    "card",
    "change_stage",
    "clean_text",
    "clean_title",
    "client_deals",
    "create",
    "find_clients",
    "history",
    "is_stale",
    "mark_nudged",
    "next_step",
    "nudge_key",
    "open_summary",
    "owner_names",
    "parse_amount",
    "parse_currency",
    "pipeline",
    "set_amount",
    "set_expected_close",
    "set_title",
    "stage_deals",
    "stale_cutoff",
    "stale_deals",
    "touch_client_deals",
    "visible_deal",
]
