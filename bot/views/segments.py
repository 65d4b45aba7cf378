"""The names of RFM segments and ABC classes in the reader's language."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from services.analytics.segments import Segment

SEGMENT_LABELS = {
    Segment.CHAMPIONS: __("Champions"),
    Segment.LOYAL: __("Loyal"),
    Segment.POTENTIAL_LOYALISTS: __("Potential loyalists"),
    Segment.NEW: __("New"),
    Segment.PROMISING: __("Promising"),
    Segment.NEED_ATTENTION: __("Need attention"),
    Segment.ABOUT_TO_SLEEP: __("About to sleep"),
    Segment.AT_RISK: __("At risk"),
    Segment.CANT_LOSE: __("Can't lose them"),
    Segment.HIBERNATING: __("Hibernating"),
    Segment.NO_RECENT: __("No recent purchases"),
}


def segment_label(key: str | None) -> str:
    """A stored segment key (None: not scored) as a name; an unknown key is shown as written."""
    if key is None:
        return str(SEGMENT_LABELS[Segment.NO_RECENT])
    try:
        return str(SEGMENT_LABELS[Segment(key)])
    except ValueError:
        return key


def abc_label(abc_class: str | None) -> str:
    return _("class {abc}").format(abc=abc_class) if abc_class else _("no class")
