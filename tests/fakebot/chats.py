"""Per-chat state kept by the fake server: messages, what happened in the chat, block status."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .keyboards import markup_kind, reply_labels
from .people import BotMessage

if TYPE_CHECKING:
    from .people import FakeUser

EventKind = Literal["sent", "edited", "deleted"]


@dataclass(frozen=True)
class ChatEvent:
    kind: EventKind
    message_id: int


@dataclass
class ChatState:
    """A private chat between the bot and one fake user (chat id == user id)."""

    user: FakeUser
    started: bool = False  # the user has sent the bot something (the bot may write to them)
    blocked: bool = False  # the user blocked the bot
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # every Message, by id
    bot_messages: dict[int, BotMessage] = field(default_factory=dict)  # the bot's, by id
    events: list[ChatEvent] = field(default_factory=list)
    reply_keyboard: dict[str, Any] | None = None  # the ReplyKeyboardMarkup the user currently sees
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def chat_id(self) -> int:
        return self.user.id

    def next_message_id(self) -> int:
        return next(self._message_ids)

    def add_user_message(self, message: dict[str, Any]) -> None:
        self.messages[message["message_id"]] = message
        text = message.get("text")
        keyboard = self.reply_keyboard
        if keyboard and keyboard.get("one_time_keyboard") and text is not None:
            if any(text in row for row in reply_labels(keyboard) or []):
                self.reply_keyboard = None

    def add_bot_message(self, message: BotMessage) -> None:
        self.messages[message.message_id] = message.data
        self.bot_messages[message.message_id] = message
        self.events.append(ChatEvent("sent", message.message_id))
        kind = markup_kind(message.markup)
        if kind == "reply":
            self.reply_keyboard = message.markup
        elif kind == "remove":
            self.reply_keyboard = None

    def mark_edited(self, message: BotMessage) -> None:
        self.messages[message.message_id] = message.data
        self.events.append(ChatEvent("edited", message.message_id))

    def delete(self, message_id: int) -> None:
        del self.messages[message_id]
        if message := self.bot_messages.get(message_id):
            message.deleted = True
        self.events.append(ChatEvent("deleted", message_id))

    def visible_bot_messages(self) -> list[BotMessage]:
        return [m for m in self.bot_messages.values() if not m.deleted]
