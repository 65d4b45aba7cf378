"""Telegram's HTML parse mode and UTF-16 length rules.

``parse_html`` follows the rules of the Bot API "HTML style" (and of tdlib, which implements it):
the supported tags, only the named entities ``&lt; &gt; &amp; &quot;`` plus numeric ones, and the
error messages ("Unsupported start tag ... at byte offset N", ...). Entity offsets and lengths are
in UTF-16 code units, like Telegram's.

One deliberate difference: by default a bare ``&`` that does not start a valid entity is rejected
(real Telegram shows it literally). That catches user input interpolated without ``html.escape``,
which would break as soon as the input contains ``<``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024

PARSE_MODES = {"html": "HTML", "markdown": "Markdown", "markdownv2": "MarkdownV2"}

_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_SPECIAL_TAGS = {"span", "a", "blockquote", "tg-emoji", "tg-time"}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8})|([a-zA-Z]{1,8}));")
_NAME_CHARS = re.compile(r"[a-zA-Z0-9_-]*")
_WHITESPACE = " \t\r\n"


class EntityParseError(ValueError):
    """The text can't be parsed; the message is what follows "can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts message length and offsets in."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _OpenTag:
    name: str
    entity: dict[str, Any] | None  # the entity to emit on close (None: the tag emits nothing)
    start: int  # UTF-16 offset in the output where the tag's content starts
    language: str | None = None  # for <code class="language-x">, moved to an enclosing <pre>


@dataclass
class _Parser:
    text: str
    strict_ampersand: bool
    pos: int = 0
    out: list[str] = field(default_factory=list)
    out_len: int = 0  # UTF-16 length of "".join(out)
    stack: list[_OpenTag] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)

    def byte_offset(self, index: int) -> int:
        return len(self.text[:index].encode("utf-8"))

    def error(self, message: str, index: int | None = None) -> EntityParseError:
        if index is not None:
            message = f"{message} at byte offset {self.byte_offset(index)}"
        return EntityParseError(message)

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.out_len += utf16_len(chunk)

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "<":
                if text.startswith("</", self.pos):
                    self.end_tag()
                else:
                    self.start_tag()
            elif char == "&":
                decoded, self.pos = self.entity(self.pos)
                self.emit(decoded)
            else:
                next_special = _next_special(text, self.pos)
                self.emit(text[self.pos : next_special])
                self.pos = next_special
        if self.stack:
            raise self.error(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def entity(self, index: int) -> tuple[str, int]:
        """Decode the HTML entity at ``index``; returns the decoded text and the index after it."""
        match = _ENTITY_RE.match(self.text, index)
        decoded = _decode_entity(match) if match else None
        if decoded is not None and match is not None:
            return decoded, match.end()
        if self.strict_ampersand:
            raise self.error(
                'Character "&" must be escaped as "&amp;" (bare "&" or unsupported entity)', index
            )
        return "&", index + 1

    def start_tag(self) -> None:
        tag_start = self.pos
        name_match = _NAME_CHARS.match(self.text, tag_start + 1)
        assert name_match is not None  # the pattern matches the empty string
        name = name_match.group().lower()
        if name not in _SIMPLE_TAGS and name not in _SPECIAL_TAGS:
            raise self.error(f'Unsupported start tag "{name}"', tag_start)
        self.pos = name_match.end()
        attributes = self.attributes(name, tag_start)
        self.stack.append(self.open_tag(name, attributes, tag_start))

    def attributes(self, tag: str, tag_start: int) -> dict[str, str]:
        text = self.text
        attributes: dict[str, str] = {}
        while True:
            self.skip_whitespace()
            if self.pos >= len(text):
                raise self.error("Unclosed start tag", tag_start)
            if text[self.pos] == ">":
                self.pos += 1
                return attributes
            name_match = _NAME_CHARS.match(text, self.pos)
            assert name_match is not None
            if not name_match.group():
                raise self.error(f'Empty attribute name in the tag "{tag}"', self.pos)
            self.pos = name_match.end()
            self.skip_whitespace()
            value = ""
            if self.pos < len(text) and text[self.pos] == "=":
                self.pos += 1
                self.skip_whitespace()
                value = self.attribute_value(tag_start)
            attributes[name_match.group().lower()] = value

    def attribute_value(self, tag_start: int) -> str:
        text = self.text
        if self.pos >= len(text):
            raise self.error("Unclosed start tag", tag_start)
        if text[self.pos] in "\"'":
            end = text.find(text[self.pos], self.pos + 1)
            if end == -1:
                raise self.error("Unclosed start tag", tag_start)
            raw, value_start, self.pos = text[self.pos + 1 : end], self.pos + 1, end + 1
        else:
            end = self.pos
            while end < len(text) and text[end] not in _WHITESPACE and text[end] != ">":
                end += 1
            raw, value_start, self.pos = text[self.pos : end], self.pos, end
        return self.decode_attribute(raw, value_start)

    def decode_attribute(self, raw: str, offset: int) -> str:
        parts: list[str] = []
        index = 0
        while index < len(raw):
            if raw[index] == "&":
                decoded, end = self.entity(offset + index)
                parts.append(decoded)
                index = end - offset
            else:
                parts.append(raw[index])
                index += 1
        return "".join(parts)

    def skip_whitespace(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1

    def open_tag(self, name: str, attributes: dict[str, str], tag_start: int) -> _OpenTag:
        if name in _SIMPLE_TAGS:
            tag = _OpenTag(name, {"type": _SIMPLE_TAGS[name]}, self.out_len)
            css_class = attributes.get("class", "")
            if name == "code" and css_class.startswith("language-"):
                tag.language = css_class.removeprefix("language-")
            return tag
        if name == "span":
            if attributes.get("class") != "tg-spoiler":
                raise self.error('Tag "span" must have class "tg-spoiler"', tag_start)
            return _OpenTag(name, {"type": "spoiler"}, self.out_len)
        if name == "a":
            href = attributes.get("href", "").strip()
            return _OpenTag(name, {"type": "text_link", "url": href} if href else None, self.out_len)
        if name == "blockquote":
            kind = "expandable_blockquote" if "expandable" in attributes else "blockquote"
            return _OpenTag(name, {"type": kind}, self.out_len)
        if name == "tg-emoji":
            emoji_id = attributes.get("emoji-id", "")
            if not emoji_id.isdigit():
                raise self.error('Tag "tg-emoji" must have a numeric attribute "emoji-id"', tag_start)
            return _OpenTag(name, {"type": "custom_emoji", "custom_emoji_id": emoji_id}, self.out_len)
        # tg-time
        unix = attributes.get("unix", "")
        if not unix.lstrip("-").isdigit():
            raise self.error('Tag "tg-time" must have an integer attribute "unix"', tag_start)
        entity: dict[str, Any] = {"type": "date_time", "unix_time": int(unix)}
        if attributes.get("format"):
            entity["date_time_format"] = attributes["format"]
        return _OpenTag(name, entity, self.out_len)

    def end_tag(self) -> None:
        tag_start = self.pos
        close = self.text.find(">", tag_start)
        if close == -1:
            raise self.error("Unclosed end tag", tag_start)
        name = self.text[tag_start + 2 : close].strip().lower()
        if not self.stack:
            raise self.error("Unexpected end tag", tag_start)
        tag = self.stack.pop()
        if name != tag.name:
            raise self.error(
                f"Unmatched end tag at byte offset {self.byte_offset(tag_start)}, "
                f'expected "</{tag.name}>", found "</{name}>"'
            )
        self.pos = close + 1
        parent = self.stack[-1] if self.stack else None
        if tag.language and parent is not None and parent.name == "pre" and parent.entity is not None:
            # <pre><code class="language-x">...</code></pre> is one "pre" entity with a language.
            parent.entity["language"] = tag.language
            return
        length = self.out_len - tag.start
        if tag.entity is not None and length > 0:
            self.entities.append({**tag.entity, "offset": tag.start, "length": length})


def _next_special(text: str, start: int) -> int:
    indices = [i for i in (text.find("<", start), text.find("&", start)) if i != -1]
    return min(indices, default=len(text))


def _decode_entity(match: re.Match[str]) -> str | None:
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        return _NAMED_ENTITIES.get(name)
    code_point = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code_point == 0 or code_point > 0x10FFFF or 0xD800 <= code_point <= 0xDFFF:
        return None
    return chr(code_point)


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into (plain text, MessageEntity dicts); raises EntityParseError."""
    return _Parser(text, strict_ampersand).run()
