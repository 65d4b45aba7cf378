"""A dialog step in an update that also wrote (the user's last_seen_at moves with the clock) must not
wait on the update's own SQLite write lock: dialog state goes through the update's session."""

from tests.support.people import manager


async def test_dialog_steps_after_the_clock_moved(app, tg):
    a = await manager(app, tg, 200, "A")
    app.clock.advance(minutes=1)
    assert "С каким клиентом" in (await a.send("/newdeal")).last.text
    app.clock.advance(minutes=1)
    assert (await a.send("/cancel")).last.text == "Отменено. Ничего не сохранено."
