"""A dialog step in an update that also wrote (the user's last_seen_at moves with the clock) must not
wait on the update's own SQLite write lock: dialog state goes through the update's session."""

from models.users import Role, User


async def test_dialog_steps_after_the_clock_moved(app, tg):
    async with app.session_factory() as s, s.begin():
        s.add(User(id=200, first_name="A", role=Role.manager, tg_language="ru"))
    a = tg.user(200, "A", language_code="ru")
    await a.send("/start")
    app.clock.advance(minutes=1)
    assert "С каким клиентом" in (await a.send("/newdeal")).last.text
    app.clock.advance(minutes=1)
    assert (await a.send("/cancel")).last.text == "Отменено. Ничего не сохранено."
