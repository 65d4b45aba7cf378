"""reply_markup checks beyond the spec's structure, and the labels a person sees."""

from __future__ import annotations

import re
from typing import Any

from .errors import bad_request

MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
# InlineKeyboardButton fields that are not its action ("exactly one of the other fields").
_NON_ACTION_FIELDS = {"text", "icon_custom_emoji_id", "style"}
_BUTTON_URL_RE = re.compile(r"^(?:(?:https?|tg)://\S+|[\w-]+(?:\.[\w-]+)+(?:[/?#]\S*)?)$", re.IGNORECASE)


def markup_kind(markup: dict[str, Any] | None) -> str | None:
    """ "inline", "reply", "remove", "force_reply" or None."""
    if not markup:
        return None
    for key, kind in (
        ("inline_keyboard", "inline"),
        ("keyboard", "reply"),
        ("remove_keyboard", "remove"),
        ("force_reply", "force_reply"),
    ):
        if key in markup:
            return kind
    return None


def check_reply_markup(markup: dict[str, Any] | None) -> None:
    """Reject what Telegram rejects in a markup that already matches the spec's structure."""
    kind = markup_kind(markup)
    if markup is None or kind is None:
        return
    if kind == "inline":
        _check_inline_keyboard(markup["inline_keyboard"])
    elif kind == "reply":
        for row in markup["keyboard"]:
            for button in row:
                if not button.get("text", "").strip():
                    raise bad_request("keyboard button text must be non-empty")
    elif kind == "remove" and markup["remove_keyboard"] is not True:
        raise bad_request("remove_keyboard must be True")
    elif kind == "force_reply" and markup["force_reply"] is not True:
        raise bad_request("force_reply must be True")


def _check_inline_keyboard(rows: list[list[dict[str, Any]]]) -> None:
    if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
        raise bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            _check_inline_button(button)


def _check_inline_button(button: dict[str, Any]) -> None:
    if not button["text"].strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = sorted(k for k, v in button.items() if k not in _NON_ACTION_FIELDS and v is not None)
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise bad_request(
            f"can't parse inline keyboard button: exactly one action field must be used, got {actions}"
        )
    if "callback_data" in button:
        size = len(button["callback_data"].encode("utf-8"))
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not _BUTTON_URL_RE.match(button["url"]):
        raise bad_request(f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL")


def inline_labels(markup: dict[str, Any] | None) -> list[list[str]]:
    if markup_kind(markup) != "inline":
        return []
    assert markup is not None
    return [[button["text"] for button in row] for row in markup["inline_keyboard"]]


def reply_labels(markup: dict[str, Any] | None) -> list[list[str]] | None:
    if markup_kind(markup) != "reply":
        return None
    assert markup is not None
    return [
        [button["text"] if isinstance(button, dict) else button for button in row]
        for row in markup["keyboard"]
    ]
