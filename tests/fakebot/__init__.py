"""A fake Telegram Bot API server for tests, and the people who talk to the bot through it.

    server = FakeTelegram()                   # validates every call against the Bot API spec
    await server.start()                      # the app gets server.base_url as its Telegram API URL
    alice = server.user(1001, "Alice")
    replies = await alice.send("/start")      # what the bot sent/edited in her chat meanwhile
    replies = await alice.press("Deactivate") # an inline button, by label
    assert alice.last.text == "Deactivated" and replies.callback_answer
    assert not server.errors                  # no call Telegram would have rejected
    await server.stop()

The app must process updates one at a time (polling with ``handle_as_tasks=False``, or a webhook
that answers after handling) for ``send()``/``press()`` to know when the bot is done.
"""

from .errors import ApiError
from .files import UploadedFile
from .people import BotMessage, CallbackAnswer, FakeUser, Replies
from .server import Call, FailedCall, FakeTelegram, PendingUpdate

__all__ = [
    "ApiError",
    "BotMessage",
    "Call",
    "CallbackAnswer",
    "FailedCall",
    "FakeTelegram",
    "FakeUser",
    "PendingUpdate",
    "Replies",
    "UploadedFile",
]
