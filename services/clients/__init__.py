"""Clients: adding (with duplicate checks), editing, notes, owner, lists and likely duplicates.

Every change bumps `Client.version` and keeps the search terms and phone tails in sync. A duplicate
phone, email or Telegram id is refused before writing and again, for a race, by the unique constraints.
Nothing here imports aiogram: handlers turn DomainError codes into messages.

The sections live in submodules; import a name from the one that owns it. The names below are
re-exported so that `services.clients.<name>` keeps working for other areas. Merging two clients
combines several domains and lives above them, in services/merge.py; the card's read model (clients,
reminders, deals) in services/card.py.

- fields: limits, EDITABLE, validation (clean_*), ClientData
- line: parse_line (/add in one line)
- records: Stale, check_version, touch, rekey
- dedupe: Duplicate, find_existing, live, savepoint, likely_duplicates
- create: create
- edit: set_field, add_phones, remove_phone, append_note
- owner: assignable_staff, set_owner, move_client_work
- lists: ListFilter, Page, ListRow, list_page, search_page, search_rows
- card: CardData, DuplicateRef (what the card shows)
"""

from services.clients.card import CardData, DuplicateRef
from services.clients.create import create
from services.clients.dedupe import (
    Duplicate,
    _live,
    check_unique,
    duplicate_error,
    find_existing,
    flush_unique,
    likely_duplicates,
    live,
    owner_of,
    savepoint,
)
from services.clients.edit import add_phones, append_note, remove_phone, set_field
from services.clients.fields import (
    EDITABLE,
    LIMITS,
    MAX_PHONES,
    MAX_TAGS,
    NOTE_LIMIT,
    REQUIRED,
    STATUSES,
    TAG_LIMIT,
    ClientData,
    clean_email,
    clean_language,
    clean_name,
    clean_phones,
    clean_status,
    clean_tags,
    clean_text,
    clean_timezone,
    parse_birthday,
)
from services.clients.line import COMPANY_PREFIXES, COMPANY_SUFFIXES, parse_line, split_name_company
from services.clients.lists import PAGE, ListFilter, ListRow, Page, list_page, search_page, search_rows
from services.clients.owner import assignable_staff, move_client_work, set_owner
from services.clients.records import Stale, check_version, rekey, touch

__all__ = [
    "COMPANY_PREFIXES",
    "COMPANY_SUFFIXES",
    "EDITABLE",
    "LIMITS",
    "MAX_PHONES",
    "MAX_TAGS",
    "NOTE_LIMIT",
    "PAGE",
    "REQUIRED",
    "STATUSES",
    "TAG_LIMIT",
    "CardData",
    "ClientData",
    "Duplicate",
    "DuplicateRef",
    "ListFilter",
    "ListRow",
    "Page",
    "Stale",
    "_live",
    "add_phones",
    "append_note",
    "assignable_staff",
    "check_unique",
    "check_version",
    "clean_email",
    "clean_language",
    "clean_name",
    "clean_phones",
    "clean_status",
    "clean_tags",
    "clean_text",
    "clean_timezone",
    "create",
    "duplicate_error",
    "find_existing",
    "flush_unique",
    "likely_duplicates",
    "list_page",
    "live",
    "move_client_work",
    "owner_of",
    "parse_birthday",
    "parse_line",
    "rekey",
    "remove_phone",
    "savepoint",
    "search_page",
    "search_rows",
    "set_field",
    "set_owner",
    "split_name_company",
    "touch",
]
