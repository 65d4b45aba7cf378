"""Checks shared by the tests of concurrent updates (tests/e2e/test_batches.py, test_redis.py): nobody
got the apology, and every press was answered with no Bot API call failed."""

from __future__ import annotations

from tests.fakebot import FakeTelegram, FakeUser, Replies

APOLOGIES = ("Извините, у нас что-то пошло не так", "Sorry, something went wrong")
NOT_MODIFIED = "message is not modified"


def apologises(text: str | None) -> bool:
    return any(apology in (text or "") for apology in APOLOGIES)


def no_apology(tg: FakeTelegram, person: FakeUser, *batch: Replies) -> None:
    """Nobody got "Sorry, something went wrong", neither as a message nor as a callback answer."""
    assert not [m.text for m in person.messages if apologises(m.text)]
    assert not [p.get("text") for p in tg.calls_of("answerCallbackQuery") if apologises(p.get("text"))]
    assert not [
        r.callback_answer.text for r in batch if r.callback_answer and apologises(r.callback_answer.text)
    ]


def answered(tg: FakeTelegram, *batch: Replies) -> None:
    """Each press of the batch got its callback answered (the spinner stops), and no call failed
    (but redrawing a screen exactly as it is, which Telegram refuses as "not modified")."""
    for replies in batch:
        assert replies.callback_answer is not None, f"update {replies.update_id} was never answered"
    failed = [e for e in tg.errors if NOT_MODIFIED not in e.description]
    assert not failed, failed
