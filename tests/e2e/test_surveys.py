"""End to end, as customers, managers and admins: surveys planned by each trigger after its delay,
the 14-day limit, consent withdrawn before sending, quiet hours, expiry, double and forged presses,
the low-score alert and follow-up, a customer who blocked the bot, /surveys figures and settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.callbacks import ClientCb, DealCb, SurveyCb
from models.consent import ConsentSource, Purpose
from models.interactions import InteractionKind, InteractionOutcome
from models.jobs import Job, JobStatus
from models.reminders import Reminder
from models.surveys import Survey, SurveySetting, SurveyStatus, SurveyTrigger
from models.users import User
from services import consent, interactions
from services import merge as merge_service
from services import surveys as surveys_service
from tests.conftest import ADMIN_ID
from tests.fakebot import FakeTelegram, FakeUser
from tests.support.people import client_record, linked_customer, manager
from tests.support.workspace import STAGES

NOW = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)  # the conftest clock: Tuesday 10:00 in Moscow
ANNA, BORIS = 200, 201
IVAN, MARIA = 5000, 5001
NBSP = "\xa0"
CSAT_Q = "Оцените нас от 1 (очень плохо) до 5 (отлично):"
NPS_Q = "Насколько вероятно, что вы порекомендуете нас другу или коллеге?"


async def set_consent(app, client_id: int, granted: bool = True) -> None:
    async with app.session_factory() as s, s.begin():
        await consent.set(
            s, client_id, Purpose.surveys, granted, ConsentSource.button, None, "test", app.clock.now()
        )


async def customer(
    app,
    tg: FakeTelegram,
    owner_id: int,
    uid: int = IVAN,
    name: str = "Иван Петров",
    *,
    agreed: bool = True,
    start: bool = True,
    **values,
) -> tuple[int, FakeUser]:
    """A client linked to the Telegram account `uid` (set directly, as linking would), who has
    written to the bot (`start`) and agreed to surveys (`agreed`)."""
    cid, person = await linked_customer(
        app, tg, owner_id, uid, name, first_name=name.split()[0], start=start, **values
    )
    if agreed:
        await set_consent(app, cid)
    return cid, person


async def log_contact(app, manager_id: int, client_id: int) -> int:
    async with app.session_factory() as s, s.begin():
        user = await s.get(User, manager_id)
        logged = await interactions.log_contact(
            s, user, client_id, InteractionKind.call, InteractionOutcome.reached, app.clock.now()
        )
        return logged.interaction.id


async def surveys_of(app, client_id: int) -> list[Survey]:
    async with app.session_factory() as s:
        rows = await s.scalars(select(Survey).where(Survey.client_id == client_id).order_by(Survey.id))
        return list(rows.all())


async def survey_jobs(app) -> list[Job]:
    async with app.session_factory() as s:
        rows = await s.scalars(select(Job).where(Job.kind == surveys_service.SEND_JOB).order_by(Job.id))
        return list(rows.all())


def questions(person: FakeUser) -> list:
    return [m for m in person.messages if m.text and CSAT_Q in m.text]


async def sent_survey(app, tg, clock, owner_id: int = ANNA, **values) -> tuple[int, FakeUser, Survey]:
    """A contact logged now and its survey delivered 2 hours later."""
    cid, person = await customer(app, tg, owner_id, **values)
    await log_contact(app, owner_id, cid)
    clock.advance(hours=2)
    await app.queue.drain()
    [survey] = await surveys_of(app, cid)
    assert survey.status == SurveyStatus.sent
    return cid, person, survey


# --- the whole survey, from a contact logged on the card ---


async def test_a_logged_contact_brings_a_survey_two_hours_later_answered_step_by_step(app, tg, clock):
    anna = await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    cid, ivan = await customer(app, tg, ANNA)

    await anna.press_data(ClientCb(action="log", client_id=cid, version=1).pack(), message=anna.last)
    await anna.press("📞 Call")
    await anna.press("✅ Reached")
    await anna.send("Talked about the delivery")
    await anna.press("Skip »")
    [survey] = await surveys_of(app, cid)
    assert (survey.status, survey.trigger, survey.manager_id) == (
        SurveyStatus.planned,
        SurveyTrigger.contact,
        ANNA,
    )
    assert survey.due_at == NOW + timedelta(hours=2)
    assert survey.ref_id == (await app_interaction_id(app, cid))

    clock.advance(hours=1, minutes=59)
    await app.queue.drain()
    assert questions(ivan) == []
    clock.advance(minutes=1)
    await app.queue.drain()
    [asked] = questions(ivan)
    assert asked.text == "🙏 Как прошёл наш недавний разговор?\n" + CSAT_Q
    assert asked.buttons == [["1", "2", "3", "4", "5"]]

    rated = await ivan.press("4", message=asked)
    assert rated.callback_answer.text == "Сохранено, спасибо!"
    assert asked.text.startswith("Ваша оценка: 4 из 5. Спасибо!") and NPS_Q in asked.text
    assert asked.buttons == [["0", "1", "2", "3", "4", "5"], ["6", "7", "8", "9", "10"]]
    [row] = await surveys_of(app, cid)
    assert (row.csat, row.nps, row.csat_at) == (4, None, clock.now())  # saved at once

    # the CSAT button pressed again (a double tap): recorded once, the survey shown as it stands
    again = await ivan.press_data(SurveyCb(action="csat", survey_id=survey.id, score=1).pack(), message=asked)
    assert again.callback_answer.text == "Ваш ответ уже сохранён. Спасибо!"
    assert (await surveys_of(app, cid))[0].csat == 4

    await ivan.press("9", message=asked)
    assert "Порекомендовали бы нас: 9 из 10." in asked.text
    assert "Хотите что-нибудь добавить?" in asked.text and asked.labels == ["Пропустить"]
    assert (await ivan.send_sticker()).last.text == "Напишите комментарий текстом или нажмите «Пропустить»."
    too_long = await ivan.send("я" * 1001)
    assert "Слишком длинно: 1001 символов, можно не больше 1000" in too_long.last.text
    done = await ivan.send("Всё <отлично> & быстро")
    assert done.last.text.split("\n") == [
        "✅ Спасибо за ответы! Они помогают нам становиться лучше.",
        "Ваша оценка: 4 из 5.",
        "Порекомендовали бы нас: 9 из 10.",
        "Ваш комментарий: Всё <отлично> & быстро",
    ]
    assert asked.labels == []  # the prompt lost its Skip button
    [row] = await surveys_of(app, cid)
    assert (row.csat, row.nps, row.comment) == (4, 9, "Всё <отлично> & быстро")
    assert row.completed_at == clock.now() and row.alerted_at is None
    # the customer's next text is no longer taken as a comment
    assert "Не понял вас" in (await ivan.send("привет")).last.text
    assert (await surveys_of(app, cid))[0].comment == "Всё <отлично> & быстро"
    # good scores: the manager hears nothing
    await app.queue.drain()
    assert not any("low score" in (m.text or "") for m in anna.messages)
    assert not tg.errors


async def app_interaction_id(app, client_id: int) -> int:
    from models.interactions import Interaction

    async with app.session_factory() as s:
        return await s.scalar(select(Interaction.id).where(Interaction.client_id == client_id))


async def test_skip_finishes_and_a_customer_may_stop_after_the_first_answer(app, tg, clock):
    await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    cid, ivan, survey = await sent_survey(app, tg, clock)
    cid2, maria = await customer(app, tg, ANNA, MARIA, "Мария Иванова")
    await log_contact(app, ANNA, cid2)
    clock.advance(hours=2)
    await app.queue.drain()

    asked = questions(ivan)[0]
    await ivan.press("5", message=asked)
    await ivan.press("10", message=asked)
    skipped = await ivan.press("Пропустить", message=asked)
    assert asked.text.startswith("✅ Спасибо за ответы!") and asked.labels == []
    assert skipped.callback_answer is not None
    twice = await ivan.press_data(SurveyCb(action="skip", survey_id=survey.id).pack(), message=asked)
    assert twice.callback_answer.text == "Ваш ответ уже сохранён. Спасибо!"
    [row] = await surveys_of(app, cid)
    assert (row.csat, row.nps, row.comment) == (5, 10, None) and row.completed_at is not None

    # Maria answers only the CSAT: it still counts
    await maria.press("5", message=questions(maria)[0])
    [row2] = await surveys_of(app, cid2)
    assert (row2.csat, row2.nps) == (5, None)
    async with app.session_factory() as s:
        stats = await surveys_service.stats(s, await s.get(User, ANNA), clock.now())
    assert (stats.periods[30].sent, stats.periods[30].answered, stats.periods[30].csat_count) == (2, 2, 2)
    assert stats.periods[30].nps_count == 1


# --- the other triggers and their delays ---


async def test_a_won_deal_and_a_purchase_bring_a_survey_a_day_later(app, tg, clock):
    anna = await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    cid, ivan = await customer(app, tg, ANNA)
    cid2, maria = await customer(app, tg, ANNA, MARIA, "Мария Иванова")
    async with app.session_factory() as s, s.begin():
        from services import deals as deals_service

        deal = await deals_service.create(
            s, await s.get(User, ANNA), cid, deals_service.Draft(title="Поставка", stage="new"), STAGES, NOW
        )
    await anna.send("/start")
    await anna.press_data(DealCb(action="open", deal_id=deal.id).pack(), message=anna.last)
    await anna.press("→ won")
    [survey] = await surveys_of(app, cid)
    assert (survey.trigger, survey.ref_id, survey.due_at) == (
        SurveyTrigger.deal_won,
        deal.id,
        NOW + timedelta(days=1),
    )

    async with app.session_factory() as s, s.begin():  # what the bonus program calls after a purchase
        await surveys_service.after(s, "purchase", cid2, ANNA, 777, clock.now())
    [bought] = await surveys_of(app, cid2)
    assert (bought.trigger, bought.ref_id, bought.manager_id) == (SurveyTrigger.purchase, 777, ANNA)

    clock.advance(hours=23, minutes=59)
    await app.queue.drain()
    assert questions(ivan) == [] and questions(maria) == []
    clock.advance(minutes=1)
    await app.queue.drain()
    assert questions(ivan)[0].text.startswith("🙏 Насколько вы довольны тем, как мы выполнили ваш заказ?")
    assert questions(maria)[0].text.startswith("🙏 Как вам ваша недавняя покупка?")


async def test_no_survey_without_consent_or_link_and_unknown_customers_chat(app, tg, clock):
    await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    cid, _ivan = await customer(app, tg, ANNA, agreed=False)
    unlinked = await client_record(app, ANNA, "Пётр")
    await set_consent(app, unlinked)
    await log_contact(app, ANNA, cid)
    await log_contact(app, ANNA, unlinked)
    assert await surveys_of(app, cid) == [] and await surveys_of(app, unlinked) == []

    # linked and agreed but never wrote to the bot: the sender finds the chat closed (403)
    cid3, _maria = await customer(app, tg, ANNA, MARIA, "Мария", start=False)
    tg.chat(MARIA).started = False
    await log_contact(app, ANNA, cid3)
    clock.advance(hours=2)
    await app.queue.drain()
    [row] = await surveys_of(app, cid3)
    assert (row.status, row.outcome) == (SurveyStatus.undelivered, "unreachable")


# --- the rules checked again when the survey is sent ---


async def test_at_most_one_survey_in_14_days_checked_when_planned_and_when_sent(app, tg, clock):
    await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    cid, ivan, first = await sent_survey(app, tg, clock)

    clock.advance(days=1)
    await log_contact(app, ANNA, cid)  # a day later: no second survey
    clock.set(first.sent_at + timedelta(days=13, hours=23))
    await log_contact(app, ANNA, cid)
    assert len(await surveys_of(app, cid)) == 1

    clock.set(first.sent_at + timedelta(days=14, minutes=1))
    await log_contact(app, ANNA, cid)
    planned = (await surveys_of(app, cid))[-1]
    assert planned.status == SurveyStatus.planned

    # meanwhile another survey reached the customer (a record merged in, say): checked again on sending
    async with app.session_factory() as s, s.begin():
        s.add(
            Survey(
                client_id=cid, manager_id=ANNA, trigger=SurveyTrigger.purchase, ref_id=1,
                status=SurveyStatus.sent, planned_at=clock.now(), due_at=clock.now(), sent_at=clock.now(),
                expires_at=clock.now() + timedelta(days=7), chat_id=IVAN,
            )
        )  # fmt: skip
    clock.advance(hours=2)
    await app.queue.drain()
    async with app.session_factory() as s:
        row = await s.get(Survey, planned.id)
        assert (row.status, row.outcome) == (SurveyStatus.skipped, "limit")
    assert len(questions(ivan)) == 1
    [*_, job] = await survey_jobs(app)
    assert (job.status, job.outcome) == (JobStatus.done, "limit")


async def test_consent_withdrawn_between_planning_and_sending(app, tg, clock):
    await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    cid, ivan = await customer(app, tg, ANNA)
    await log_contact(app, ANNA, cid)
    await set_consent(app, cid, False)  # e.g. /stop an hour later
    clock.advance(hours=2)
    await app.queue.drain()
    assert questions(ivan) == []
    [row] = await surveys_of(app, cid)
    assert (row.status, row.outcome, row.sent_at) == (SurveyStatus.skipped, "no_consent", None)
    assert [j.outcome for j in await survey_jobs(app)] == ["no_consent"]


async def test_unlinked_before_sending_and_relinked_to_another_account(app, tg, clock):
    await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    cid, ivan = await customer(app, tg, ANNA)
    cid2, _maria = await customer(app, tg, ANNA, MARIA, "Мария")
    await log_contact(app, ANNA, cid)
    await log_contact(app, ANNA, cid2)
    new_account = tg.user(5999, "Иван", language_code="ru")
    await new_account.send("/start")
    async with app.session_factory() as s, s.begin():
        from models.clients import Client

        (await s.get(Client, cid)).telegram_id = None
        await s.flush()
        (await s.get(Client, cid)).telegram_id = 5999  # the customer linked a new Telegram account
        (await s.get(Client, cid2)).telegram_id = None  # Maria asked to be forgotten
    clock.advance(hours=2)
    await app.queue.drain()
    assert questions(ivan) == [] and len(questions(new_account)) == 1
    [row] = await surveys_of(app, cid)
    assert (row.status, row.chat_id) == (SurveyStatus.sent, 5999)
    [row2] = await surveys_of(app, cid2)
    assert (row2.status, row2.outcome) == (SurveyStatus.skipped, "not_linked")
    # only the account it went to may answer
    stolen = await ivan.press_data(
        SurveyCb(action="csat", survey_id=row.id, score=5).pack(), message=ivan.last
    )
    assert stolen.callback_answer.text == "Этот опрос недоступен."


async def test_quiet_hours_planned_for_22_local_is_sent_at_10_next_day(app, tg, clock):
    await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    clock.set(datetime(2026, 3, 10, 17, 0, tzinfo=UTC))  # 20:00 in Moscow
    cid, ivan = await customer(app, tg, ANNA)
    # Vladivostok is UTC+10: 22:00 Moscow is 05:00 there; then 10:00 local is 00:00 UTC
    cid2, maria = await customer(app, tg, ANNA, MARIA, "Мария", timezone="Asia/Vladivostok")
    await log_contact(app, ANNA, cid)
    await log_contact(app, ANNA, cid2)

    clock.set(datetime(2026, 3, 10, 19, 0, tzinfo=UTC))  # due: 22:00 in Moscow
    await app.queue.drain()
    assert questions(ivan) == [] and questions(maria) == []
    jobs = await survey_jobs(app)
    assert [(j.status, j.attempts, j.due_at) for j in jobs] == [
        (JobStatus.pending, 0, datetime(2026, 3, 11, 7, 0, tzinfo=UTC)),  # 10:00 Moscow
        (JobStatus.pending, 0, datetime(2026, 3, 11, 0, 0, tzinfo=UTC)),  # 10:00 Vladivostok
    ]
    clock.set(datetime(2026, 3, 11, 0, 0, tzinfo=UTC))
    await app.queue.drain()
    assert questions(ivan) == [] and len(questions(maria)) == 1
    clock.set(datetime(2026, 3, 11, 6, 59, tzinfo=UTC))
    await app.queue.drain()
    assert questions(ivan) == []
    clock.set(datetime(2026, 3, 11, 7, 0, tzinfo=UTC))
    await app.queue.drain()
    assert len(questions(ivan)) == 1
    [row] = await surveys_of(app, cid)
    assert row.sent_at == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)


async def test_the_linked_accounts_time_zone_when_the_client_has_none(app, tg, clock):
    await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    cid, ivan = await customer(app, tg, ANNA)
    async with app.session_factory() as s, s.begin():
        (await s.get(User, IVAN)).timezone = "America/New_York"  # 10:00 Moscow is 03:00 there
    await log_contact(app, ANNA, cid)
    clock.advance(hours=2)
    await app.queue.drain()
    assert questions(ivan) == []
    [job] = await survey_jobs(app)
    assert job.due_at == datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # 10:00 EDT (DST began on 8 March)


async def test_a_survey_expires_after_7_days(app, tg, clock):
    await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    cid, ivan, survey = await sent_survey(app, tg, clock)
    asked = questions(ivan)[0]
    clock.set(survey.sent_at + timedelta(days=7))
    late = await ivan.press("5", message=asked)
    assert late.callback_answer.text.startswith("⌛ Срок опроса истёк")
    assert late.callback_answer.show_alert
    assert (
        asked.text == "⌛ Срок опроса истёк: ответы принимаются 7 дней после отправки." and asked.labels == []
    )
    [row] = await surveys_of(app, cid)
    assert row.csat is None and row.csat_at is None


async def test_forged_and_out_of_order_presses_change_nothing(app, tg, clock):
    await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    cid, ivan, survey = await sent_survey(app, tg, clock)
    _cid2, maria = await customer(app, tg, ANNA, MARIA, "Мария", agreed=False)
    asked = questions(ivan)[0]

    def press(person, action, score, survey_id=survey.id, message=None):
        data = SurveyCb(action=action, survey_id=survey_id, score=score).pack()
        return person.press_data(data, message=message or person.last)

    assert (await press(maria, "csat", 5)).callback_answer.text == "Этот опрос недоступен."  # not hers
    assert (await press(ivan, "csat", 5, 987654321, asked)).callback_answer.text == "Этот опрос недоступен."
    assert (await press(ivan, "csat", 9, message=asked)).callback_answer.text == "Такой оценки нет."
    assert (await press(ivan, "csat", 0, message=asked)).callback_answer.text == "Такой оценки нет."
    out_of_order = await press(ivan, "nps", 3, message=asked)
    assert out_of_order.callback_answer.text == "Сначала ответьте на первый вопрос."
    assert CSAT_Q in asked.text  # still the first question
    assert (await press(ivan, "skip", -1, message=asked)).callback_answer.text == (
        "Сначала ответьте на первый вопрос."
    )
    # an action no handler knows (e.g. from an older version): packed without validation
    with pytest.warns(UserWarning):
        what = SurveyCb.model_construct(action="what", survey_id=1).pack()
    unknown = await ivan.press_data(what, message=asked)
    assert "больше не действует" in unknown.callback_answer.text
    [row] = await surveys_of(app, cid)
    assert (row.csat, row.nps, row.completed_at) == (None, None, None)
    # a customer can't see the figures or settings
    assert (await ivan.send("/surveys")).last.text.startswith("⛔ Нет доступа.")
    settings = await ivan.press_data(
        SurveyCb(action="off", survey_id=0, trigger="contact").pack(), message=asked
    )
    assert "⛔" in settings.callback_answer.text
    async with app.session_factory() as s:
        assert (await s.scalars(select(SurveySetting))).all() == []
    assert not tg.errors


# --- a low score reaches the owner at once ---


async def test_a_low_score_tells_the_owner_at_once_with_a_follow_up_reminder(app, tg, clock):
    anna = await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    cid, ivan, _survey = await sent_survey(app, tg, clock, name="Иван <Петров>")
    asked = questions(ivan)[0]
    await ivan.press("2", message=asked)
    await app.queue.drain()
    alert = anna.last
    assert alert.text.split("\n") == [
        "⚠️ Иван <Петров> gave a low score in a satisfaction survey: CSAT 2 of 5.",
        "A follow-up reminder was added for you.",
    ]
    assert alert.labels == ["👤 Open the card"]
    [reminder] = await app_reminders(app, ANNA)
    assert reminder.client_id == cid and reminder.due_at == clock.now() + timedelta(hours=1)
    assert reminder.text == "Call Иван <Петров> back: low score in the survey (CSAT 2 of 5)."
    [row] = await surveys_of(app, cid)
    assert row.alerted_at == clock.now() and row.reminder_id == reminder.id

    # a low NPS after that doesn't repeat the alert; the comment follows it
    await ivan.press("3", message=asked)
    await app.queue.drain()
    assert anna.last.message_id == alert.message_id
    await ivan.send("Долго ждал <ответа>")
    await app.queue.drain()
    assert anna.last.text.split("\n") == [
        "💬 Иван <Петров> added a comment to the survey (CSAT 2 of 5, NPS 3 of 10):",
        "Долго ждал <ответа>",
    ]
    assert len(await app_reminders(app, ANNA)) == 1
    card = await anna.press("👤 Open the card", message=alert)
    assert "Иван <Петров>" in card.last.text

    # the reminder comes at its time
    clock.advance(hours=1)
    await app.queue.drain()
    assert "Call Иван <Петров> back" in anna.last.text
    assert not tg.errors


async def test_a_low_nps_alone_alerts_too(app, tg, clock):
    anna = await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    _cid, ivan, _survey = await sent_survey(app, tg, clock)
    asked = questions(ivan)[0]
    await ivan.press("5", message=asked)
    await app.queue.drain()
    assert "low score" not in (anna.last.text or "")
    await ivan.press("6", message=asked)
    await app.queue.drain()
    assert anna.last.text.startswith(
        "⚠️ Иван Петров gave a low score in a satisfaction survey: CSAT 5 of 5, NPS 6 of 10."
    )


async def app_reminders(app, owner_id: int) -> list[Reminder]:
    async with app.session_factory() as s:
        rows = await s.scalars(select(Reminder).where(Reminder.owner_id == owner_id).order_by(Reminder.id))
        return list(rows.all())


# --- a customer who blocked the bot ---


async def test_a_customer_who_blocked_the_bot_is_recorded_as_not_delivered(app, tg, clock):
    await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    cid, ivan = await customer(app, tg, ANNA)
    await log_contact(app, ANNA, cid)
    tg.block(IVAN)  # Telegram answers 403 from now on
    clock.advance(hours=2)
    await app.queue.drain()
    [row] = await surveys_of(app, cid)
    assert (row.status, row.outcome, row.sent_at) == (SurveyStatus.undelivered, "blocked", None)
    [job] = await survey_jobs(app)
    assert (job.status, job.outcome) == (JobStatus.done, "blocked")
    async with app.session_factory() as s:
        assert (await s.get(User, IVAN)).blocked_at is not None
    assert [e for e in tg.errors if e.error_code != 403] == []
    # not delivered doesn't count as sent, and doesn't hold the next one back 14 days
    clock.advance(days=1)
    tg.unblock(IVAN)
    await ivan.send("/start")
    await log_contact(app, ANNA, cid)
    assert len(await surveys_of(app, cid)) == 2


async def test_a_survey_telegram_refuses_for_good_is_not_delivered_and_frees_the_limit(app, tg, clock):
    await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    cid, ivan = await customer(app, tg, ANNA)
    await log_contact(app, ANNA, cid)
    tg.fail_next("sendMessage", 400, "Bad Request: can't parse entities")
    clock.advance(hours=2)
    await app.queue.drain()
    [row] = await surveys_of(app, cid)
    assert (row.status, row.outcome, row.sent_at) == (SurveyStatus.undelivered, "rejected", None)
    [job] = await survey_jobs(app)
    assert (job.status, job.attempts) == (JobStatus.done, 1)  # not retried
    # it doesn't count as sent: the next event plans and delivers a survey at once
    clock.advance(days=1)
    await log_contact(app, ANNA, cid)
    clock.advance(hours=2)
    await app.queue.drain()
    rows = await surveys_of(app, cid)
    assert [r.status for r in rows] == [SurveyStatus.undelivered, SurveyStatus.sent]
    assert CSAT_Q in ivan.last.text


# --- merging moves the surveys ---


async def test_merging_two_clients_moves_their_surveys_and_only_one_goes_out(app, tg, clock):
    await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    cid, ivan = await customer(app, tg, ANNA)
    other, maria = await customer(app, tg, ANNA, MARIA, "Иван Петров")  # a duplicate, another account
    await log_contact(app, ANNA, cid)
    clock.advance(minutes=10)
    await log_contact(app, ANNA, other)
    async with app.session_factory() as s, s.begin():
        from models.clients import Client

        version = (await s.get(Client, cid)).version
        await merge_service.merge(s, await s.get(User, ADMIN_ID), cid, other, version, clock.now())
    rows = await surveys_of(app, cid)
    assert len(rows) == 2 and await surveys_of(app, other) == []  # both moved to the survivor

    clock.advance(hours=3)
    await app.queue.drain()
    rows = await surveys_of(app, cid)  # both ran in one batch, in parallel: exactly one went out
    assert sorted((r.status, r.outcome, r.chat_id) for r in rows) == [
        (SurveyStatus.sent, None, IVAN),
        (SurveyStatus.skipped, "limit", None),
    ]
    assert len(questions(ivan)) == 1 and questions(maria) == []


# --- /surveys: the figures ---


async def seed_answers(app, clock) -> None:
    now = clock.now()

    def survey(manager_id, days_ago, csat=None, nps=None, status=SurveyStatus.sent, client_id=None):
        sent = now - timedelta(days=days_ago)
        return Survey(
            client_id=client_id, manager_id=manager_id, trigger=SurveyTrigger.contact, ref_id=1,
            status=status,
            planned_at=sent, due_at=sent, sent_at=sent if status == SurveyStatus.sent else None,
            expires_at=sent + timedelta(days=7), chat_id=IVAN, csat=csat, nps=nps,
        )  # fmt: skip

    anna_client = await client_record(app, ANNA, "A")
    boris_client = await client_record(app, BORIS, "B")
    async with app.session_factory() as s, s.begin():
        a, b = anna_client, boris_client
        s.add_all(
            [
                # Anna, the last 30 days: 4 sent, 3 answered
                survey(ANNA, 1, 5, 10, client_id=a),
                survey(ANNA, 5, 4, 9, client_id=a),
                survey(ANNA, 10, 2, 3, client_id=a),
                survey(ANNA, 29, client_id=a),
                # Anna, 31 to 90 days ago: 2 sent, 1 answered
                survey(ANNA, 40, 3, 6, client_id=a),
                survey(ANNA, 89, client_id=a),
                # not counted: older than 90 days, not delivered, still planned
                survey(ANNA, 91, 1, 0, client_id=a),
                survey(ANNA, 2, status=SurveyStatus.undelivered, client_id=a),
                survey(ANNA, 0, status=SurveyStatus.planned, client_id=a),
                # Boris: 1 sent and answered
                survey(BORIS, 10, 5, 10, client_id=b),
            ]
        )


async def test_surveys_figures_for_a_manager_and_for_admins(app, tg, clock, admin):
    anna = await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    await manager(app, tg, BORIS, "Boris", lang="ru", language="ru")
    await seed_answers(app, clock)

    mine = (await anna.send("/surveys")).last
    assert mine.text.split("\n") == [
        "📊 Satisfaction: my clients",
        "",
        "Last 30 days (since 8 Feb 2026)",
        "CSAT: 67% satisfied (4–5), average 3.7 of 5; answers: 3",
        "NPS: +33 (promoters 67%, detractors 33%); answers: 3",
        "Answered 3 of 4 sent: response rate 75%",
        "",
        "Last 90 days (since 10 Dec 2025)",
        "CSAT: 50% satisfied (4–5), average 3.5 of 5; answers: 4",
        "NPS: +0 (promoters 50%, detractors 50%); answers: 4",
        "Answered 4 of 6 sent: response rate 67%",
    ]
    assert mine.buttons == []
    # a manager can't look at someone else's figures, even with a forged button
    before = mine.text
    await anna.press_data(SurveyCb(action="stats", survey_id=0, arg=BORIS).pack(), message=mine)
    assert mine.text == before  # her own figures again (Telegram: "message is not modified")

    everyone = (await admin.send("/surveys")).last
    lines = everyone.text.split("\n")
    assert lines[0] == "📊 Удовлетворённость: все клиенты"
    assert lines[2] == "Последние 30 дней (с 8 февр. 2026)"
    assert lines[3] == f"CSAT: 75{NBSP}% довольных (4–5), в среднем 4,0 из 5; ответов: 4"
    assert lines[4] == f"NPS: +50 (промоутеры 75{NBSP}%, критики 25{NBSP}%); ответов: 4"
    assert lines[5] == f"Ответили 4 из 5 отправленных: отклик 80{NBSP}%"
    assert lines[-1] == "Нажмите на менеджера, чтобы увидеть его показатели."
    assert everyone.buttons == [["👤 Anna · 6"], ["👤 Boris · 1"], ["⚙️ Настройки"]]
    boris = await admin.press("👤 Boris · 1", message=everyone)
    assert everyone.text.split("\n")[:6] == [
        "📊 Удовлетворённость: клиенты менеджера Boris",
        "",
        "Последние 30 дней (с 8 февр. 2026)",
        f"CSAT: 100{NBSP}% довольных (4–5), в среднем 5,0 из 5; ответов: 1",
        "NPS: +100 (промоутеры 100\xa0%, критики 0\xa0%); ответов: 1",
        f"Ответили 1 из 1 отправленных: отклик 100{NBSP}%",
    ]
    assert boris.last.labels == ["« Все", "⚙️ Настройки"]
    await admin.press("« Все", message=everyone)
    assert everyone.text.startswith("📊 Удовлетворённость: все клиенты")
    nobody = await admin.press_data(
        SurveyCb(action="stats", survey_id=0, arg=424242).pack(), message=everyone
    )
    assert nobody.callback_answer.text == "Не найдено. Возможно, запись удалена или она не ваша."
    assert [e for e in tg.errors if "not modified" not in e.description] == []


async def test_surveys_with_nothing_sent_yet(app, tg):
    anna = await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    text = (await anna.send("/surveys")).last.text
    assert text.count("No surveys were sent.") == 2


# --- settings (admins) ---


async def test_settings_turn_triggers_off_and_change_delays_with_bad_input(app, tg, clock, admin):
    anna = await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    await admin.send("/surveys")
    shown = (await admin.press("⚙️ Настройки")).last
    assert shown.text.split("\n")[3:] == [
        "✅ После записанного контакта: через 2 часа",
        "✅ После покупки: через 1 день",
        "✅ После выигранной сделки: через 1 день",
    ]
    assert shown.buttons[0] == ["⛔ Выключить: контакт", "⏱ Задержка: контакт"]

    off = await admin.press("⛔ Выключить: контакт", message=shown)
    assert off.callback_answer.text == "✅ Сохранено."
    assert "⛔ После записанного контакта: выключено (если включить: через 2 часа)" in shown.text
    assert shown.buttons[0][0] == "✅ Включить: контакт"
    twice = await admin.press_data(
        SurveyCb(action="off", survey_id=0, trigger="contact").pack(), message=shown
    )
    assert twice.callback_answer.text == "Уже выключено."
    forged = await admin.press_data(SurveyCb(action="on", survey_id=0, trigger="nope").pack(), message=shown)
    assert forged.callback_answer.show_alert
    # a manager can't change settings
    denied = await anna.press_data(
        SurveyCb(action="on", survey_id=0, trigger="contact").pack(), message=anna.last
    )
    assert "Not allowed" in denied.callback_answer.text

    cid, _ivan = await customer(app, tg, ANNA)
    await log_contact(app, ANNA, cid)
    assert await surveys_of(app, cid) == []  # contact surveys are off

    ask = (await admin.press("⏱ Задержка: выигранная сделка", message=shown)).last
    assert ask.text.startswith("⏱ После выигранной сделки: опрос уходит через 1 день.")
    assert ask.labels == ["Отмена"]
    for bad, problem in [
        ("скоро", "Не удалось разобрать задержку"),
        ("-5", "Не удалось разобрать задержку"),
        ("2 недели", "Не удалось разобрать задержку"),
        ("31 день", "Задержка может быть от 0 минут до 30 дней."),
        ("1" * 50, "Не удалось разобрать задержку"),
        ("1" * 30, "Задержка может быть от 0 минут до 30 дней."),
    ]:
        replies = await admin.send(bad)
        assert problem in replies.last.text and "Новая задержка" in replies.last.text, bad
    assert "ответьте текстом" in (await admin.send_sticker()).last.text
    saved = await admin.send("1 день 12 часов")
    assert saved.last.text.startswith("✅ Сохранено: После выигранной сделки — через 1 день 12 часов.")
    assert "✅ После выигранной сделки: через 1 день 12 часов" in saved.last.text
    async with app.session_factory() as s:
        rules = await surveys_service.settings(s)
    assert rules[SurveyTrigger.deal_won].delay_minutes == 36 * 60
    assert rules[SurveyTrigger.contact].enabled is False

    # cancel leaves the delay as it was
    ask = (await admin.press("⏱ Задержка: покупка", message=saved.last)).last
    cancelled = await admin.press("Отмена", message=ask)
    assert cancelled.last.text == "Отменено. Ничего не сохранено."
    assert "Сохранено" not in (await admin.send("3 часа")).last.text
    async with app.session_factory() as s:
        assert (await surveys_service.setting(s, SurveyTrigger.purchase)).delay_minutes == 24 * 60

    # back on, with no delay at all: sent at once (in the daytime)
    await admin.send("/surveys")
    await admin.press("⚙️ Настройки")
    await admin.press("✅ Включить: контакт")
    await admin.press("⏱ Задержка: контакт")
    assert "сразу" in (await admin.send("0")).last.text
    clock.advance(days=1)
    await log_contact(app, ANNA, cid)
    await app.queue.drain()
    [row] = await surveys_of(app, cid)
    assert row.status == SurveyStatus.sent and row.sent_at == clock.now()
    assert not tg.errors
