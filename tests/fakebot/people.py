"""The test-facing side: fake users who talk to the bot, and the bot's messages as they see them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .files import TINY_PNG, image_size
from .formatting import MAX_MESSAGE_LENGTH, utf16_len
from .keyboards import inline_labels, reply_labels

if TYPE_CHECKING:
    from .server import FakeTelegram


class BotMessage:
    """A message the bot sent, as the person sees it (kept up to date when the bot edits it)."""

    def __init__(self, data: dict[str, Any], *, html: str | None, markup: dict[str, Any] | None) -> None:
        self.data = data  # the Message object, as last returned to the bot
        self.html = html  # the text or caption exactly as the bot sent it (before entity parsing)
        self.markup = markup  # reply_markup as sent (reply keyboards aren't part of Message objects)
        self.edited = False
        self.deleted = False

    @property
    def message_id(self) -> int:
        return int(self.data["message_id"])

    @property
    def chat_id(self) -> int:
        return int(self.data["chat"]["id"])

    @property
    def text(self) -> str | None:
        """What the person reads: the text, or the caption of a media message, without markup."""
        return self.data.get("text", self.data.get("caption"))

    @property
    def entities(self) -> list[dict[str, Any]]:
        return list(self.data.get("entities", self.data.get("caption_entities", [])))

    @property
    def buttons(self) -> list[list[str]]:
        """Labels of the inline keyboard, row by row ([] without one)."""
        return inline_labels(self.markup)

    @property
    def labels(self) -> list[str]:
        """All inline button labels, flattened."""
        return [label for row in self.buttons for label in row]

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """Labels of the reply keyboard sent with this message, row by row (None without one)."""
        return reply_labels(self.markup)

    @property
    def document(self) -> dict[str, Any] | None:
        return self.data.get("document")

    @property
    def photo(self) -> list[dict[str, Any]] | None:
        return self.data.get("photo")

    @property
    def file_id(self) -> str | None:
        """The file of a document/photo/... message (largest photo size); None for text."""
        if self.photo:
            return str(self.photo[-1]["file_id"])
        for kind in ("document", "audio", "voice", "video", "animation", "sticker"):
            if media := self.data.get(kind):
                return str(media["file_id"])
        return None

    def button(self, label: str) -> dict[str, Any]:
        """The InlineKeyboardButton with this exact label."""
        for row in (self.markup or {}).get("inline_keyboard", []):
            for button in row:
                if button["text"] == label:
                    return dict(button)
        raise AssertionError(f"message {self.message_id} has no button {label!r}; it has {self.buttons}")

    def __repr__(self) -> str:
        flags = "".join(f" {flag}" for flag in ("edited", "deleted") if getattr(self, flag))
        text = self.text if self.text is None or len(self.text) < 60 else self.text[:57] + "..."
        buttons = f" buttons={self.buttons}" if self.buttons else ""
        return f"<BotMessage {self.message_id} in {self.chat_id}{flags}: {text!r}{buttons}>"


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot answered a callback query with (answerCallbackQuery)."""

    text: str | None = None
    show_alert: bool = False
    url: str | None = None


class Replies(list[BotMessage]):
    """Messages the bot sent or edited in the person's chat while it processed one update."""

    def __init__(
        self,
        messages: list[BotMessage],
        *,
        update_id: int,
        deleted: list[int] | None = None,
        dropped: str | None = None,
    ) -> None:
        super().__init__(messages)
        self.update_id = update_id
        self.deleted = deleted or []  # ids of messages the bot deleted meanwhile
        self.dropped = dropped  # why the update never reached the bot (e.g. "allowed_updates"), if so
        self.callback_answer: CallbackAnswer | None = None  # for press(): what answerCallbackQuery said

    @property
    def texts(self) -> list[str | None]:
        return [message.text for message in self]

    @property
    def last(self) -> BotMessage:
        assert self, f"the bot sent nothing in reply to update {self.update_id}"
        return self[-1]


@dataclass(eq=False)
class FakeUser:
    """A person in a private chat with the bot (chat id == user id). Create with ``server.user()``."""

    server: FakeTelegram = field(repr=False)
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_premium: bool = False
    phone_number: str | None = None  # used by share_contact(own=True)

    # --- what the person sees ---

    @property
    def chat_id(self) -> int:
        return self.id

    @property
    def messages(self) -> list[BotMessage]:
        """The bot's messages in this chat, oldest first, as they look now (deleted ones left out)."""
        return self.server.chat(self.id).visible_bot_messages()

    @property
    def last(self) -> BotMessage:
        messages = self.messages
        assert messages, f"the bot has sent nothing to {self.first_name} ({self.id})"
        return messages[-1]

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """The reply keyboard currently shown under the input field (None if none)."""
        return reply_labels(self.server.chat(self.id).reply_keyboard)

    def to_user(self) -> dict[str, Any]:
        """The Telegram ``User`` object."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        optional = {
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
        }
        user.update({key: value for key, value in optional.items() if value is not None})
        if self.is_premium:
            user["is_premium"] = True
        return user

    def to_chat(self) -> dict[str, Any]:
        """The Telegram ``Chat`` object of the private chat with the bot."""
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        optional = {"last_name": self.last_name, "username": self.username}
        chat.update({key: value for key, value in optional.items() if value is not None})
        return chat

    # --- what the person does (each returns the bot's replies once it has processed the update) ---

    async def send(self, text: str, *, reply_to: BotMessage | None = None) -> Replies:
        """Send a text message; a leading /command gets a bot_command entity."""
        if not text.strip() or utf16_len(text) > MAX_MESSAGE_LENGTH:
            raise ValueError(f"a Telegram client can't send a text of {utf16_len(text)} UTF-16 units")
        message = self.new_message(text=text)
        if entity := _command_entity(text):
            message["entities"] = [entity]
        if reply_to is not None:
            message["reply_to_message"] = reply_to.data
        return await self._send_message(message)

    async def press(self, label: str, *, message: BotMessage | None = None) -> Replies:
        """Press the inline button with this exact label (on ``message``, else the newest that has it)."""
        target = message or self._newest_with_button(label)
        button = target.button(label)
        if "callback_data" not in button:
            raise AssertionError(f"button {label!r} is not a callback button: {button}")
        return await self.press_data(button["callback_data"], message=target)

    async def press_data(self, data: str, *, message: BotMessage | None = None) -> Replies:
        """Send a callback query with any (even forged) data from ``message`` (default: the newest)."""
        target = message or self.last
        if target.deleted:
            raise AssertionError(f"message {target.message_id} was deleted; it can't be pressed")
        query_id = self.server.register_callback_query(self)
        payload = {
            "id": query_id,
            "from": self.to_user(),
            "message": dict(target.data),
            "chat_instance": f"ci{self.id}",
            "data": data,
        }
        replies = await self.server.submit(self, "callback_query", payload)
        replies.callback_answer = self.server.callback_answer(query_id)
        return replies

    async def share_contact(
        self,
        phone: str | None = None,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        user_id: int | None = None,
        own: bool = False,
    ) -> Replies:
        """Send a contact; ``own=True`` shares the user's own (user_id = their id), like request_contact."""
        if own:
            phone = phone or self.phone_number
            first_name = first_name or self.first_name
            last_name = last_name if last_name is not None else self.last_name
            user_id = self.id
        if not phone or not first_name:
            raise ValueError(
                "a contact needs a phone number and a first name (or own=True with phone_number)"
            )
        contact: dict[str, Any] = {"phone_number": phone, "first_name": first_name}
        if last_name:
            contact["last_name"] = last_name
        if user_id is not None:
            contact["user_id"] = user_id
        return await self._send_message(self.new_message(contact=contact))

    async def send_sticker(self, emoji: str = "👍") -> Replies:
        stored = self.server.files.add(
            b"RIFF\x00\x00\x00\x00WEBPVP8 ", kind="stickers", file_name="sticker.webp"
        )
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": stored.file_size,
        }
        return await self._send_message(self.new_message(sticker=sticker))

    async def send_photo(self, content: bytes = TINY_PNG, *, caption: str | None = None) -> Replies:
        stored = self.server.files.add(content, kind="photos", file_name="photo.jpg", mime_type="image/jpeg")
        width, height = image_size(content)
        size = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
        }
        message = self.new_message(photo=[{**size, "width": width, "height": height}])
        if caption:
            message["caption"] = caption
        return await self._send_message(message)

    async def send_voice(self, content: bytes = b"OggS\x00fake voice", *, duration: int = 2) -> Replies:
        stored = self.server.files.add(content, kind="voice", file_name="voice.oga", mime_type="audio/ogg")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": stored.file_size,
        }
        return await self._send_message(self.new_message(voice=voice))

    async def upload(
        self,
        filename: str,
        content: bytes,
        mime_type: str = "application/octet-stream",
        *,
        caption: str | None = None,
    ) -> Replies:
        """Send a document; the bot can fetch it with getFile and download it."""
        stored = self.server.files.add(content, kind="documents", file_name=filename, mime_type=mime_type)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": stored.file_size,
        }
        message = self.new_message(document=document)
        if caption:
            message["caption"] = caption
        return await self._send_message(message)

    async def inline_query(self, query: str, *, offset: str = "") -> list[dict[str, Any]] | None:
        """Type ``@bot query``; returns the results the bot answered with (None if it didn't answer)."""
        query_id = self.server.register_inline_query(self)
        payload = {
            "id": query_id,
            "from": self.to_user(),
            "query": query,
            "offset": offset,
            "chat_type": "sender",
        }
        await self.server.submit(self, "inline_query", payload)
        return self.server.inline_answer(query_id)

    async def block_bot(self) -> Replies:
        """Block the bot (my_chat_member: member -> kicked); sends to this chat then fail with 403."""
        return await self.server.process_my_chat_member(self, "kicked")

    async def unblock_bot(self) -> Replies:
        return await self.server.process_my_chat_member(self, "member")

    async def send_raw(self, **content: Any) -> Replies:
        """Send a message with any content, e.g. ``send_raw(location={"latitude": 1, "longitude": 2})``."""
        return await self._send_message(self.new_message(**content))

    def new_message(self, **content: Any) -> dict[str, Any]:
        """A Message dict from this user with the chat's next message id (not sent; see send_raw)."""
        chat = self.server.chat(self.id)
        return {
            "message_id": chat.next_message_id(),
            "from": self.to_user(),
            "chat": self.to_chat(),
            "date": int(time.time()),
            **content,
        }

    # --- helpers ---

    async def _send_message(self, message: dict[str, Any]) -> Replies:
        self.server.chat(self.id).add_user_message(message)
        return await self.server.submit(self, "message", message)

    def _newest_with_button(self, label: str) -> BotMessage:
        messages = self.messages
        for message in reversed(messages):
            if label in message.labels:
                return message
        available = (
            "\n".join(f"  {m!r}" for m in reversed(messages) if m.buttons) or "  (no inline keyboards)"
        )
        raise AssertionError(
            f"no message in {self.first_name}'s chat has a button {label!r}; newest first:\n{available}"
        )


def _command_entity(text: str) -> dict[str, Any] | None:
    if not text.startswith("/"):
        return None
    command = text.split(maxsplit=1)[0]
    return {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
