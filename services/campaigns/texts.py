"""A campaign's text: the placeholders it may use, checked when it is typed, and the message each
recipient gets, their data escaped.

The text is what the person composing typed, as Telegram HTML (their bold, italics and links kept).
Placeholders are `{name}` (string.Formatter syntax; `{{` and `}}` are literal braces); each value is
escaped and cut to a bound, so the longest message any recipient can get is known when composing.
"""

from __future__ import annotations

import html
import re
import string
from dataclasses import dataclass

from services.errors import DomainError

TEXT_LIMIT = 4096  # Telegram's limit on a message's text, after entities are parsed
CAPTION_LIMIT = 1024  # and on a photo's or a document's caption
MAX_BUTTONS = 3
BUTTON_LABEL_LIMIT = 40
NAME_BOUND = 64  # a first name or a manager's name is cut to this many characters
TIER_BOUND = 30
POINTS_BOUND = 12
# The campaign's tracked deep link (services/campaigns/links.py): t.me/ + a username + ?start= + payload.
LINK_BOUND = len("https://t.me/") + 32 + len("?start=") + 64
PLACEHOLDERS = ("first_name", "points", "tier", "manager", "link")
BOUNDS = {
    "first_name": NAME_BOUND,
    "points": POINTS_BOUND,
    "tier": TIER_BOUND,
    "manager": NAME_BOUND,
    "link": LINK_BOUND,
}
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class Values:
    """What the placeholders stand for, for one recipient."""

    first_name: str
    points: int
    tier: str
    manager: str
    link: str = ""  # the campaign's tracked link

    def as_dict(self) -> dict[str, str]:
        return {
            "first_name": self.first_name[:NAME_BOUND],
            "points": str(self.points)[:POINTS_BOUND],
            "tier": self.tier[:TIER_BOUND],
            "manager": self.manager[:NAME_BOUND],
            "link": self.link[:LINK_BOUND],
        }


def _parts(text: str) -> list[tuple[str, str | None]]:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        raise DomainError("campaign_braces") from None
    parts: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise DomainError(
                "campaign_placeholder", name=shown, known=", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            )
        parts.append((literal, name))
    return parts


def visible_length(html_text: str) -> int:
    """How many characters Telegram counts in an HTML text: without tags, entities read."""
    return len(html.unescape(_TAG.sub("", html_text)))


def check(text: str, *, caption: bool = False) -> str:
    """A typed text (Telegram HTML), or DomainError: an unknown or malformed placeholder, or a
    message (a caption, under a photo or a document) that could exceed Telegram's limit for some
    recipient once the values are in."""
    text = text.strip()
    if not text:
        raise DomainError("campaign_text_empty")
    parts = _parts(text)
    longest = sum(visible_length(literal) + (BOUNDS[name] if name else 0) for literal, name in parts)
    limit = CAPTION_LIMIT if caption else TEXT_LIMIT
    if longest > limit:
        raise DomainError(
            "campaign_caption_long" if caption else "campaign_text_long", limit=limit, length=longest
        )
    return text


def parse_button(text: str | None) -> tuple[str, str]:
    """A URL button typed as "Label https://example.com" (the address last)."""
    label, _sep, url = (text or "").strip().rpartition(" ")
    label = " ".join(label.split())
    if not label or not url.lower().startswith(("https://", "http://")) or "." not in url or len(url) > 500:
        raise DomainError("campaign_button_invalid")
    if len(label) > BUTTON_LABEL_LIMIT:
        raise DomainError("campaign_button_long", limit=BUTTON_LABEL_LIMIT)
    return label, url


MEDIA_KINDS = ("photo", "document")


def check_media(kind: str | None, file_id: str | None) -> tuple[str | None, str | None]:
    """The photo or document a message comes with, as (kind, Telegram's file_id); (None, None): text
    only."""
    if (kind is not None and kind not in MEDIA_KINDS) or (kind is None) != (file_id is None):
        raise DomainError("campaign_media_invalid")
    return kind, file_id


def with_button(buttons: list[list[str]] | None, text: str | None) -> list[list[str]]:
    """The URL buttons with one more typed as "Label https://example.com" (at most MAX_BUTTONS)."""
    if len(buttons or []) >= MAX_BUTTONS:
        raise DomainError("campaign_buttons_many", limit=MAX_BUTTONS)
    return [*(buttons or []), list(parse_button(text))]


def render(text: str, values: Values) -> str:
    """The text for one recipient: each placeholder replaced by its value, escaped."""
    data = values.as_dict()
    return "".join(literal + (html.escape(data[name]) if name else "") for literal, name in _parts(text))
