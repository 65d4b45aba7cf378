"""Saved client segments, the audience of campaigns: a typed, versioned filter over clients
(conditions), the one SQL select it becomes for a viewer with its counts (query), and the saved
segments themselves: access, create / edit / delete with the audit trail, a page of clients (saved).

The campaign engine reads a segment's audience with
`query.reachable_clients_of(saved.conditions_of(segment), viewer, await query.basis(...), purpose)`.
"""

from services.segments.conditions import (
    Choice,
    Condition,
    Conditions,
    Field,
    Flag,
    Range,
    TagMode,
    Tags,
    dump,
    parse,
    parse_range,
)
from services.segments.query import (
    Basis,
    Figures,
    basis,
    clients_of,
    count,
    figures,
    reachable,
    reachable_clients_of,
)
from services.segments.saved import conditions_of

__all__ = [
    "Basis",
    "Choice",
    "Condition",
    "Conditions",
    "Field",
    "Figures",
    "Flag",
    "Range",
    "TagMode",
    "Tags",
    "basis",
    "clients_of",
    "conditions_of",
    "count",
    "dump",
    "figures",
    "parse",
    "parse_range",
    "reachable",
    "reachable_clients_of",
]
