"""HTML helpers for Telegram messages: escape user data, split long texts safely."""

from __future__ import annotations

import html
import re

MESSAGE_LIMIT = 4096
_TAG_OR_ENTITY = re.compile(r"<[^>]*>|&[#\w]+;")


def h(value: object) -> str:
    """Escape anything a person typed before it goes into an HTML message."""
    return html.escape(str(value), quote=False)


def visible_length(text: str) -> int:
    """Length Telegram counts for an HTML message: tags removed, entities as one char, UTF-16 units."""
    plain = html.unescape(
        _TAG_OR_ENTITY.sub(lambda m: m.group(0) if m.group(0).startswith("&") else "", text)
    )
    return len(plain.encode("utf-16-le")) // 2


def _hard_split(line: str, limit: int) -> list[str]:
    """Split one over-long line without cutting a tag or an entity in half."""
    parts: list[str] = []
    current = ""
    pos = 0
    tokens: list[str] = []
    for m in _TAG_OR_ENTITY.finditer(line):
        tokens.extend(line[pos : m.start()])
        tokens.append(m.group(0))
        pos = m.end()
    tokens.extend(line[pos:])
    for tok in tokens:
        if current and visible_length(current + tok) > limit:
            parts.append(current)
            current = ""
        current += tok
    if current:
        parts.append(current)
    return parts


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split text over the limit at line boundaries (a single huge line is cut between characters).

    Our templates keep every tag on one line, so chunks stay valid HTML.
    """
    if visible_length(text) <= limit:
        return [text]
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        line_len = visible_length(line)
        if line_len > limit:
            if current:
                chunks.append("\n".join(current))
                current, size = [], 0
            chunks.extend(_hard_split(line, limit))
            continue
        added = line_len + (1 if current else 0)
        if current and size + added > limit:
            chunks.append("\n".join(current))
            current, size = [line], line_len
        else:
            current.append(line)
            size += added
    if current:
        chunks.append("\n".join(current))
    return [c for c in chunks if c.strip()] or [text[:limit]]
