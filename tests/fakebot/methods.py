"""What each Bot API method does to the fake's state. Parameters arrive already checked by the spec."""

from __future__ import annotations

import json
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .chats import ChatState
from .errors import ApiError, bad_request, forbidden
from .files import (
    MAX_DOWNLOAD_SIZE,
    MAX_PHOTO_SIZE,
    MAX_UPLOAD_SIZE,
    StoredFile,
    UploadedFile,
    image_size,
    is_image,
)
from .formatting import (
    MAX_CAPTION_LENGTH,
    MAX_MESSAGE_LENGTH,
    PARSE_MODES,
    EntityParseError,
    parse_html,
    utf16_len,
)
from .keyboards import check_reply_markup, markup_kind
from .people import BotMessage, CallbackAnswer
from .updates import WebhookConfig

if TYPE_CHECKING:
    from .server import FakeTelegram

Handler = Callable[[dict[str, Any]], Any | Awaitable[Any]]

CALLBACK_QUERY_TTL = 15.0  # seconds (on the server's clock) a callback/inline query can be answered
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_INLINE_RESULTS = 50
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
}  # fmt: skip
MEDIA_KINDS = ("photo", "document", "audio", "voice", "video", "animation", "sticker", "video_note")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LANGUAGE_CODE_RE = re.compile(r"[a-z]{2}")
# (getter/setter suffix, field, max length) of the bot's profile texts: setMyName, getMyDescription...
_BOT_TEXTS = (
    ("Name", "name", 64),
    ("Description", "description", 512),
    ("ShortDescription", "short_description", 120),
)


@dataclass
class QueryRecord:
    """A callback or inline query sent to the bot, and the bot's answer."""

    created: float
    user_id: int | None = None  # who sent it (the chat a callback answer is shown in)
    answered: bool = False
    answer: Any = None


class BotApi:
    """Implementations of the Bot API methods the fake supports with real state."""

    def __init__(self, server: FakeTelegram) -> None:
        self.server = server
        self.handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "sendDocument": self.send_document,
            "sendPhoto": self.send_photo,
            "sendSticker": self.send_sticker,
            "sendVoice": self.send_voice,
            "sendLocation": self.send_location,
            "sendContact": self.send_contact,
            "copyMessage": self.copy_message,
            "forwardMessage": self.forward_message,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
            "answerCallbackQuery": self.answer_callback_query,
            "answerInlineQuery": self.answer_inline_query,
            "sendChatAction": self.send_chat_action,
            "getFile": self.get_file,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
        }
        for suffix, field, limit in _BOT_TEXTS:
            self.handlers[f"setMy{suffix}"] = self._bot_text_setter(field, limit)
            self.handlers[f"getMy{suffix}"] = self._bot_text_getter(field)
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.bot_texts: dict[tuple[str, str], str] = {}
        self.callback_queries: dict[str, QueryRecord] = {}
        self.inline_queries: dict[str, QueryRecord] = {}

    # --- bot & updates ---

    def get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.server.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        server = self.server
        if server.webhook.active:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if "allowed_updates" in params:
            server.updates.allowed_updates = params["allowed_updates"]
        limit = min(max(params.get("limit", 100), 1), 100)
        wait_seconds = max(params.get("timeout", 0), 0)
        offset = params.get("offset")
        if offset is not None and self._would_confirm(offset) and server.holding_offsets:
            # A kill hook is armed: this confirmation is "still in flight" until the hook fires (the
            # bot dies and the confirmation never arrives) or is disarmed (see crash.py).
            fired = [hook for hook in server.kill_hooks if hook.fired]
            await server.signal.wait_for(lambda: not server.holding_offsets or server.updates.closed)
            if len(fired) != sum(hook.fired for hook in server.kill_hooks):
                return []  # the bot was killed meanwhile: this confirmation never arrived
        return await server.updates.poll(offset=offset, limit=limit, wait_seconds=wait_seconds)

    def _would_confirm(self, offset: int) -> bool:
        first = self.server.updates.first_pending_id()
        return first is not None and (offset < 0 or offset > first)

    async def set_webhook(self, params: dict[str, Any]) -> bool:
        url: str = params["url"]
        if not url:
            return await self.delete_webhook(params)
        if not url.startswith(("https://", "http://")):  # real Telegram insists on https
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        max_connections = params.get("max_connections", 40)
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        queue = self.server.updates
        if params.get("drop_pending_updates"):
            queue.drop_all("drop_pending_updates")
        if "allowed_updates" in params:
            queue.allowed_updates = params["allowed_updates"]
        queue.interrupt_polls(ApiError(409, "Conflict: terminated by setWebhook request"))
        config = WebhookConfig(url, secret, max_connections, params.get("ip_address"))
        await self.server.webhook.set(config)
        return True

    async def delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self.server.updates.drop_all("drop_pending_updates")
        await self.server.webhook.delete()
        return True

    def get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        webhook, queue = self.server.webhook, self.server.updates
        info: dict[str, Any] = {
            "url": webhook.config.url if webhook.config else "",
            "has_custom_certificate": False,
            "pending_update_count": queue.pending_count,
        }
        if webhook.config:
            info["max_connections"] = webhook.config.max_connections
            if webhook.config.ip_address:
                info["ip_address"] = webhook.config.ip_address
            if queue.allowed_updates:
                info["allowed_updates"] = queue.allowed_updates
        if webhook.last_error_date is not None:
            info["last_error_date"] = webhook.last_error_date
            info["last_error_message"] = webhook.last_error_message
        return info

    # --- sending ---

    def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.chat(params["chat_id"], sending=True)
        text, entities = self._message_text(params)
        return self._post(
            chat, params, {"text": text, **_entities("entities", entities)}, html=params["text"]
        )

    def send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.chat(params["chat_id"], sending=True)
        caption = self._caption(params)
        stored = self._input_file(params["document"], "documents")
        document = _file_fields(stored) | {"file_name": stored.file_name, "mime_type": stored.mime_type}
        content = {"document": {k: v for k, v in document.items() if v is not None}}
        return self._post(chat, params, content | caption, html=params.get("caption"))

    def send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.chat(params["chat_id"], sending=True)
        caption = self._caption(params)
        stored = self._input_file(params["photo"], "photos")
        width, height = image_size(stored.content)
        photo = [_file_fields(stored) | {"width": width, "height": height}]
        return self._post(chat, params, {"photo": photo} | caption, html=params.get("caption"))

    def send_sticker(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.chat(params["chat_id"], sending=True)
        stored = self._input_file(params["sticker"], "stickers")
        sticker = _file_fields(stored) | {
            "type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False,
        }  # fmt: skip
        if emoji := params.get("emoji"):
            sticker["emoji"] = emoji
        return self._post(chat, params, {"sticker": sticker}, html=None)

    def send_voice(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.chat(params["chat_id"], sending=True)
        caption = self._caption(params)
        stored = self._input_file(params["voice"], "voice")
        voice = _file_fields(stored) | {"duration": params.get("duration", 1), "mime_type": "audio/ogg"}
        return self._post(chat, params, {"voice": voice} | caption, html=params.get("caption"))

    def send_location(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.chat(params["chat_id"], sending=True)
        location = {"latitude": params["latitude"], "longitude": params["longitude"]}
        return self._post(chat, params, {"location": location}, html=None)

    def send_contact(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.chat(params["chat_id"], sending=True)
        keys = ("phone_number", "first_name", "last_name", "vcard")
        contact = {key: params[key] for key in keys if key in params}
        return self._post(chat, params, {"contact": contact}, html=None)

    def copy_message(self, params: dict[str, Any]) -> dict[str, Any]:
        source = self._source_message(params, "copy")
        chat = self.chat(params["chat_id"], sending=True)
        content = _copied_content(source)
        if "caption" in params:
            content = {k: v for k, v in content.items() if k not in ("caption", "caption_entities")}
            content |= self._caption(params)
        message = self._post(chat, params, content, html=params.get("caption"))
        return {"message_id": message["message_id"]}

    def forward_message(self, params: dict[str, Any]) -> dict[str, Any]:
        source = self._source_message(params, "forward")
        chat = self.chat(params["chat_id"], sending=True)
        origin = {
            "type": "user",
            "sender_user": source.get("from", self.server.bot_user),
            "date": source["date"],
        }
        content = _copied_content(source) | {"forward_origin": origin}
        return self._post(chat, {}, content, html=None)

    def send_chat_action(self, params: dict[str, Any]) -> bool:
        self.chat(params["chat_id"], sending=True)
        if params["action"] not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    # --- editing & deleting ---

    def edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, message = self._editable(params)
        if "text" not in message.data:
            raise bad_request("there is no text in the message to edit")
        if "text" not in params:
            raise bad_request("message text is empty")
        text, entities = self._message_text(params)
        content = {"text": text, **_entities("entities", entities)}
        return self._edit(chat, message, content, params.get("reply_markup"), html=params["text"])

    def edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, message = self._editable(params)
        if not any(kind in message.data for kind in MEDIA_KINDS):
            raise bad_request("there is no caption in the message to edit")
        content = self._caption(params)
        return self._edit(chat, message, content, params.get("reply_markup"), html=params.get("caption"))

    def edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, message = self._editable(params)
        content = {
            k: message.data[k]
            for k in ("text", "entities", "caption", "caption_entities")
            if k in message.data
        }
        return self._edit(chat, message, content, params.get("reply_markup"), html=message.html)

    def delete_message(self, params: dict[str, Any]) -> bool:
        chat = self.chat(params["chat_id"], sending=False)
        if params["message_id"] not in chat.messages:
            raise bad_request("message to delete not found")
        chat.delete(params["message_id"])
        return True

    def delete_messages(self, params: dict[str, Any]) -> bool:
        chat = self.chat(params["chat_id"], sending=False)
        if not 1 <= len(params["message_ids"]) <= 100:
            raise bad_request("message_ids must contain 1-100 identifiers")
        for message_id in params["message_ids"]:
            if message_id in chat.messages:
                chat.delete(message_id)
        return True

    # --- queries ---

    def answer_callback_query(self, params: dict[str, Any]) -> bool:
        record = self._open_query(self.callback_queries, params["callback_query_id"])
        text = params.get("text")
        if text is not None and utf16_len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answered = True
        record.answer = CallbackAnswer(
            text=text, show_alert=params.get("show_alert", False), url=params.get("url")
        )
        return True

    def answer_inline_query(self, params: dict[str, Any]) -> bool:
        record = self._open_query(self.inline_queries, params["inline_query_id"])
        results: list[dict[str, Any]] = params["results"]
        if len(results) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        ids = [str(result["id"]) for result in results]
        if len(set(ids)) != len(ids):
            raise bad_request("RESULT_ID_DUPLICATE")
        for result in results:
            if not 1 <= len(str(result["id"]).encode()) <= 64:
                raise bad_request("RESULT_ID_INVALID")
            check_reply_markup(result.get("reply_markup"))
            content = result.get("input_message_content") or {}
            if "message_text" in content:
                self._message_text({"text": content["message_text"], **content})
            if "caption" in result:
                self._caption(result)
        record.answered = True
        record.answer = results
        return True

    def _open_query(self, queries: dict[str, QueryRecord], query_id: str) -> QueryRecord:
        record = queries.get(query_id)
        if record is None or record.answered or self.server.clock() - record.created > CALLBACK_QUERY_TTL:
            raise bad_request(QUERY_TOO_OLD)
        return record

    # --- files ---

    def get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.server.files.get(params["file_id"])
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_SIZE:
            raise bad_request("file is too big")
        return stored.to_file()

    # --- bot settings ---

    def set_my_commands(self, params: dict[str, Any]) -> bool:
        commands: list[dict[str, Any]] = params["commands"]
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            if not _COMMAND_RE.fullmatch(command["command"]):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"].strip()) <= 256:
                raise bad_request("command description must be 1-256 characters")
        key = self._commands_key(params)
        if commands:
            self.commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.commands.pop(key, None)
        return True

    def get_my_commands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        return list(self.commands.get(self._commands_key(params), []))

    def delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _commands_key(self, params: dict[str, Any]) -> tuple[str, str]:
        return commands_key(params.get("scope"), self._language_code(params))

    def set_chat_menu_button(self, params: dict[str, Any]) -> bool:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            self.chat(chat_id, sending=False)
        self.menu_buttons[chat_id] = params.get("menu_button") or {"type": "default"}
        return True

    def get_chat_menu_button(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "default"}

    def _bot_text_setter(self, field: str, limit: int) -> Handler:
        def handler(params: dict[str, Any]) -> bool:
            value = params.get(field, "")
            if len(value) > limit:
                raise bad_request(f"{field} is too long ({len(value)} > {limit} characters)")
            self.bot_texts[(field, self._language_code(params))] = value
            return True

        return handler

    def _bot_text_getter(self, field: str) -> Handler:
        def handler(params: dict[str, Any]) -> dict[str, str]:
            return {field: self.bot_texts.get((field, self._language_code(params)), "")}

        return handler

    @staticmethod
    def _language_code(params: dict[str, Any]) -> str:
        code: str = params.get("language_code", "")
        if code and not _LANGUAGE_CODE_RE.fullmatch(code):
            raise bad_request("invalid language_code specified: must be a two-letter ISO 639-1 code")
        return code

    # --- chats ---

    def get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.chat(params["chat_id"], sending=False)
        return {
            **chat.user.to_chat(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    def get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.chat(params["chat_id"], sending=False)
        if params["user_id"] == chat.user.id:
            return {"status": "member", "user": chat.user.to_user()}
        if params["user_id"] == self.server.bot_user["id"]:
            if chat.blocked:
                return {"status": "kicked", "user": self.server.bot_user, "until_date": 0}
            return {"status": "member", "user": self.server.bot_user}
        raise bad_request("PARTICIPANT_ID_INVALID")

    def chat(self, chat_id: int | str, *, sending: bool) -> ChatState:
        """The chat ``chat_id`` names; ``sending`` also requires the user to accept messages from the bot."""
        chat = self.server.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None or (not chat.started and not sending):
            raise bad_request("chat not found")
        if sending and chat.blocked:
            raise forbidden("bot was blocked by the user")
        if sending and not chat.started:
            raise forbidden("bot can't initiate conversation with a user")
        return chat

    # --- helpers ---

    def _post(
        self, chat: ChatState, params: dict[str, Any], content: dict[str, Any], *, html: str | None
    ) -> dict[str, Any]:
        """Add a bot message to ``chat``; returns the Message object."""
        markup = params.get("reply_markup")
        check_reply_markup(markup)
        reply_to = self._replied_message(chat, params.get("reply_parameters"))
        data: dict[str, Any] = {
            "message_id": chat.next_message_id(),
            "from": self.server.bot_user,
            "chat": chat.user.to_chat(),
            "date": int(time.time()),
            **content,
        }
        if reply_to is not None:
            data["reply_to_message"] = reply_to
        if markup_kind(markup) == "inline":
            data["reply_markup"] = markup
        chat.add_bot_message(BotMessage(data, html=html, markup=markup))
        return data

    def _replied_message(self, chat: ChatState, reply: dict[str, Any] | None) -> dict[str, Any] | None:
        if not reply:
            return None
        target_chat = chat if reply.get("chat_id") is None else self.chat(reply["chat_id"], sending=False)
        message = target_chat.messages.get(reply["message_id"])
        if message is None and not reply.get("allow_sending_without_reply"):
            raise bad_request("message to be replied not found")
        return {k: v for k, v in message.items() if k != "reply_to_message"} if message else None

    def _editable(self, params: dict[str, Any]) -> tuple[ChatState, BotMessage]:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")  # inline messages aren't emulated
        if "chat_id" not in params or "message_id" not in params:
            raise bad_request("message identifier is not specified")
        chat = self.chat(params["chat_id"], sending=True)
        message = chat.bot_messages.get(params["message_id"])
        if message is None or message.deleted:
            if params["message_id"] in chat.messages:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return chat, message

    def _edit(
        self,
        chat: ChatState,
        message: BotMessage,
        content: dict[str, Any],
        markup: dict[str, Any] | None,
        *,
        html: str | None,
    ) -> dict[str, Any]:
        """Replace ``message``'s content and inline keyboard (omitting reply_markup removes it)."""
        check_reply_markup(markup)
        content_keys = ("text", "entities", "caption", "caption_entities")
        old = {k: message.data[k] for k in content_keys if k in message.data}
        if old == content and message.data.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED)
        data = {k: v for k, v in message.data.items() if k not in (*content_keys, "reply_markup")}
        data.update(content, edit_date=int(time.time()))
        if markup:
            data["reply_markup"] = markup
        message.data, message.html, message.markup, message.edited = data, html, markup, True
        chat.mark_edited(message)
        return data

    def _source_message(self, params: dict[str, Any], verb: str) -> dict[str, Any]:
        source = self.chat(params["from_chat_id"], sending=False).messages.get(params["message_id"])
        if source is None:
            raise bad_request(f"message to {verb} not found")
        return source

    def _message_text(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        text, entities = self._render(params["text"], params.get("parse_mode"), params.get("entities"))
        if not text.strip():
            raise bad_request("message text is empty")
        if utf16_len(text) > MAX_MESSAGE_LENGTH:
            raise bad_request("message is too long")
        return text, entities

    def _caption(self, params: dict[str, Any]) -> dict[str, Any]:
        """``{"caption": ..., "caption_entities": ...}`` for the request's caption, or {} without one."""
        if not params.get("caption"):
            return {}
        caption, entities = self._render(
            params["caption"], params.get("parse_mode"), params.get("caption_entities")
        )
        if utf16_len(caption) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        return {"caption": caption, **_entities("caption_entities", entities)} if caption.strip() else {}

    def _render(
        self, text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None
    ) -> tuple[str, list[dict[str, Any]]]:
        if not parse_mode:
            return text, list(entities or [])
        mode = PARSE_MODES.get(parse_mode.lower())
        if mode is None:
            raise bad_request(f"unsupported parse_mode {parse_mode!r}")
        if mode != "HTML":
            return text, []  # Markdown parse modes are not emulated: the text is taken literally
        try:
            return parse_html(text, strict_ampersand=self.server.strict_html)
        except EntityParseError as error:
            raise bad_request(f"can't parse entities: {error}") from None

    def _input_file(self, value: UploadedFile | str, kind: str) -> StoredFile:
        """Store an uploaded file, or find the one a file_id names; ``kind`` is what it's sent as."""
        files = self.server.files
        if isinstance(value, UploadedFile):
            if not value.content:
                raise bad_request("file must be non-empty")
            if len(value.content) > (MAX_PHOTO_SIZE if kind == "photos" else MAX_UPLOAD_SIZE):
                raise ApiError(413, "Request Entity Too Large")
            if kind == "photos" and not is_image(value.content):
                raise bad_request("IMAGE_PROCESS_FAILED")
            mime_type = value.content_type
            if not mime_type or mime_type == "application/octet-stream":
                mime_type = mimetypes.guess_type(value.filename)[0] or "application/octet-stream"
            return files.add(value.content, kind=kind, file_name=value.filename, mime_type=mime_type)
        if (stored := files.get(value)) is not None:
            if stored.kind != kind:
                raise bad_request(f"can't use file of type {stored.kind} as {kind}")
            return stored
        if value.startswith(("http://", "https://")):
            return files.add(b"", kind=kind, file_name=value.rsplit("/", 1)[-1] or "file")
        raise bad_request("wrong file identifier/HTTP URL specified")


def commands_key(scope: dict[str, Any] | None, language_code: str) -> tuple[str, str]:
    """How commands are stored: by scope (normalized JSON) and language code."""
    scope = dict(scope or {"type": "default"})
    for key in ("chat_id", "user_id"):
        if isinstance(scope.get(key), str) and scope[key].lstrip("-").isdigit():
            scope[key] = int(scope[key])
    return json.dumps(scope, sort_keys=True), language_code


def _copied_content(source: dict[str, Any]) -> dict[str, Any]:
    keys = ("text", "entities", "caption", "caption_entities", "contact", "location", *MEDIA_KINDS)
    return {key: source[key] for key in keys if key in source}


def _file_fields(stored: StoredFile) -> dict[str, Any]:
    return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": stored.file_size}


def _entities(key: str, entities: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: entities} if entities else {}
