"""A fake Telegram Bot API server for tests, and the people who talk to the bot through it.

    server = FakeTelegram()                   # validates every call against the Bot API spec
    await server.start()                      # the app gets server.base_url as its Telegram API URL
    alice = server.user(1001, "Alice")
    replies = await alice.send("/start")      # what the bot sent/edited in her chat meanwhile
    replies = await alice.press("Deactivate") # an inline button, by label
    assert alice.last.text == "Deactivated" and replies.callback_answer
    assert not server.errors                  # no call Telegram would have rejected
    await server.stop()

The app must confirm an update only once it handled it (polling with ``handle_as_tasks=False``, the
app's own polling in bot/polling.py, or a webhook that answers after handling) for ``send()`` and
``press()`` to know when the bot is done; otherwise set ``server.settle`` to something that waits for
the bot's handling, or wait for the reply you expect (``server.wait_for_message``).

    first, second = await server.send_batch(alice.send("Ivan"), alice.send("+7 999"))  # one getUpdates
    hook = server.kill_on(pid, method="sendMessage", text_contains="Saved")  # crash there (crash.py)

Bot processes for crash tests (start, SIGKILL, restart against the same server): process.py.
"""

from .crash import KillHook
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
    "KillHook",
    "PendingUpdate",
    "Replies",
    "UploadedFile",
]
