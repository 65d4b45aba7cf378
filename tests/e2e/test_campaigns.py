"""End to end: /broadcast and /campaigns through the fake Bot API. An admin picks the audience (the
reachable count first), types the texts (an unknown placeholder refused), previews, tests, sends; each
consenting customer gets it once in their language with their data escaped, one over the weekly
limit is counted "capped", one in their quiet hours gets it at 10:00 their time; the tracked button,
Unsubscribe and purchases are counted in /campaigns. A 403 and a 429 in the middle; Pause, Resume,
Cancel (twice); errors in a row pausing it; a photo with a link button scheduled on each recipient's
clock (a time passed refused, consent checked when due); a reply not held back by a broadcast; a
segment that matches nobody; the weekly limit set by an admin; a customer gets no access."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.callbacks import CampaignAction, CampaignCb
from models.campaigns import (
    Campaign,
    CampaignClick,
    CampaignDelivery,
    CampaignLinkClick,
    CampaignStatus,
    DeliveryStatus,
)
from models.segments import SavedSegment
from models.users import User
from scheduler import campaigns as campaign_engine
from tests.conftest import ADMIN_ID, app_settings, running_app
from tests.support.campaigns import IVAN, agree, compose, consenting, customers, got, purchase
from tests.support.people import client_record, linked_customer


async def test_a_broadcast_to_consenting_customers_in_their_language_with_the_cap_and_quiet_hours(
    app, tg, clock
):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    people = await customers(app, tg)

    _chooser, prompt = await compose(admin)
    assert "Reachable now: 4" in prompt.text  # Petr gave no consent
    refused = (await admin.send("Hello {name}")).last
    assert "Unknown placeholder {name}" in refused.text and "{first_name}" in refused.text
    assert "A brace without its pair" in (await admin.send("Hello {first_name")).last.text
    other = (await admin.send("Привет, {first_name}! У вас {points} баллов.")).last
    assert "Skip" in [b for row in other.buttons for b in row]
    replies = await admin.send("Hi {first_name}, you have {points} points.")
    assert "Привет, &lt;Ivan&gt;! У вас 150 баллов." in replies[0].html  # the sample: the first reachable
    assert "Hi <Ivan>, you have 150 points." == replies[1].text
    preview = replies.last
    assert "Preview" in preview.text and "reachable now: 4" in preview.text
    preview = (await admin.press('▫️ "I\'m interested" button', message=preview)).last
    tested = await admin.press("🧪 Test to me", message=preview)
    assert tested.callback_answer.text.startswith("🧪")
    assert tested.last.text == "Hi <Ivan>, you have 150 points."
    assert tested.last.buttons == [["🙋 I'm interested"], ["🔕 Unsubscribe"]]

    send = preview.button("🚀 Send now")["callback_data"]
    started = (await admin.press_data(send, message=preview)).last
    assert "Started: 4 recipients" in started.text
    again = await admin.press_data(send, message=preview)
    assert "already been started" in again.callback_answer.text

    await app.queue.drain()
    ivan, john, maria, night = (people[n][1] for n in ("ivan", "john", "maria", "night"))
    [to_ivan] = [m for m in ivan.messages if "Привет" in (m.text or "")]
    assert "Привет, &lt;Ivan&gt;! У вас 150 баллов." in to_ivan.html
    assert to_ivan.buttons == [["🙋 Мне интересно"], ["🔕 Отписаться"]]
    assert got(john, "Hi John, you have 0 points.")
    assert not got(maria, "Привет") and not got(night, "Привет")
    progress = [m for m in admin.messages if "📣 Broadcast #" in (m.text or "")]
    assert len(progress) == 1
    assert "Sent: 2" in progress[0].text and "Over the weekly limit: 1" in progress[0].text
    assert "Left: 1" in progress[0].text and "⏸ Pause" in progress[0].labels

    clock.set(datetime(2026, 3, 10, 16, 59, tzinfo=UTC))  # 09:59 in Los Angeles
    await app.queue.drain()
    assert not got(night, "Привет")
    clock.set(datetime(2026, 3, 10, 17, 0, tzinfo=UTC))
    await app.queue.drain()
    assert len(got(night, "Привет, Nina!")) == 1
    [progress] = [m for m in admin.messages if "📣 Broadcast #" in (m.text or "")]
    assert "done" in progress.text and "Sent: 3" in progress.text and progress.buttons == []

    async with app.session_factory() as s:
        campaign = await s.scalar(
            select(Campaign).where(Campaign.status == CampaignStatus.done).order_by(Campaign.id.desc())
        )
        rows = (
            await s.scalars(select(CampaignDelivery).where(CampaignDelivery.campaign_id == campaign.id))
        ).all()
        by_client = {r.client_id: r for r in rows}
        assert len(rows) == 4 and people["petr"][0] not in by_client
        assert by_client[people["maria"][0]].status == DeliveryStatus.capped
        assert by_client[people["ivan"][0]].tg_message_id == to_ivan.message_id
        assert by_client[people["night"][0]].at == datetime(2026, 3, 10, 17, 0, tzinfo=UTC)

    # the tracked button: once per person; Unsubscribe counts against the campaign
    first = await ivan.press("🙋 Мне интересно", message=to_ivan)
    second = await ivan.press("🙋 Мне интересно", message=to_ivan)
    assert first.callback_answer.text != second.callback_answer.text
    await ivan.press("🔕 Отписаться", message=to_ivan)
    async with app.session_factory() as s:
        assert len((await s.scalars(select(CampaignClick))).all()) == 1
    # purchases: John twice within 7 days of his message, Ivan 8 days after his, Petr (not a recipient)
    sent_at = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    async with app.session_factory() as s, s.begin():
        for key, (name, days) in enumerate((("john", 1), ("john", 6), ("ivan", 8), ("petr", 1))):
            s.add(purchase(people[name][0], sent_at + timedelta(days=days), f"p{key}"))
    report = (await admin.send("/campaigns")).last
    assert "Bought within 7 days: 1 (2 purchases)" in report.text
    assert f"#{campaign.id}" in report.text and "Sent: 3" in report.text
    assert "Interested: 1" in report.text and "Unsubscribed after it: 1" in report.text
    assert "at most 2 offers per customer" in report.text


async def test_403_and_429_in_the_middle_then_pause_resume_and_cancel(app, tg, clock):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    ids, people = await consenting(app, tg, 400, 4)
    await compose(admin)
    await admin.send("Offer for {first_name}")
    preview = (await admin.press("Skip")).last
    tg.fail_next("sendMessage", 429, retry_after=1)  # the first recipient: the whole bot waits, then it goes
    tg.block(401)  # the second recipient blocked the bot without the bot hearing of it: a 403
    await admin.press("🚀 Send now", message=preview)
    await app.queue.drain()
    assert got(people[0], "Offer for Client0") and not got(people[1], "Offer")
    assert got(people[2], "Offer for Client2") and got(people[3], "Offer for Client3")
    async with app.session_factory() as s:
        statuses = {r.client_id: r.status for r in (await s.scalars(select(CampaignDelivery))).all()}
        assert statuses[ids[1]] == DeliveryStatus.blocked
        assert (await s.get(User, 401)).blocked_at is not None
    [progress] = [m for m in admin.messages if "📣 Broadcast #" in (m.text or "")]
    assert "Sent: 3" in progress.text and "Blocked: 1" in progress.text

    # a second campaign: paused before its step runs, resumed, then cancelled (twice)
    await compose(admin)
    await admin.send("Second for {first_name}")
    preview = (await admin.press("Skip")).last
    started = (await admin.press("🚀 Send now", message=preview)).last
    async with app.session_factory() as s:
        second = await s.scalar(select(Campaign).order_by(Campaign.id.desc()))
    paused = await admin.press_data(
        CampaignCb(action=CampaignAction.pause, id=second.id).pack(), message=started
    )
    assert paused.callback_answer.text == "⏸ Paused."
    assert "▶️ Resume" in paused.last.labels
    await app.queue.drain()
    assert not got(people[0], "Second")
    resumed = await admin.press("▶️ Resume", message=paused.last)
    assert resumed.callback_answer.text == "▶️ Resumed."
    cancel = resumed.last.button("⏹ Cancel")["callback_data"]
    cancelled = await admin.press_data(cancel, message=resumed.last)
    assert "Cancelled" in cancelled.callback_answer.text
    assert "the 3 left were not sent" in cancelled.last.text
    twice = await admin.press_data(cancel, message=resumed.last)
    assert twice.callback_answer.text == "Already cancelled."
    await app.queue.drain()
    assert not any(got(p, "Second") for p in people)


async def test_bad_input_an_empty_segment_the_weekly_limit_and_no_access_for_customers(app, tg):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    client_id, customer = await linked_customer(app, tg, ADMIN_ID, 500, "Ivan")
    await client_record(app, ADMIN_ID, "Nobody")
    async with app.session_factory() as s, s.begin():
        s.add(
            SavedSegment(
                name="VIP <b>",
                name_key="vip <b>",
                created_by=ADMIN_ID,
                conditions={"v": 1, "conditions": [{"field": "status", "values": ["inactive"]}]},
            )
        )
    chooser = (await admin.send("/broadcast")).last
    assert "🎯 VIP <b>" in chooser.labels
    empty = await admin.press("🎯 VIP <b>", message=chooser)
    assert "Nobody in this audience can get offers now" in empty.callback_answer.text
    none = await admin.press("👥 All customers", message=chooser)  # Ivan gave no consent
    assert "Nobody in this audience" in none.callback_answer.text

    await agree(app, client_id)
    await admin.press("👥 All customers", message=chooser)
    long = "x" * 4050 + "{first_name}"  # 4062 typed; a 64-character name makes it 4114
    assert "Too long" in (await admin.send(long)).last.text
    assert "as text" in (await admin.send_sticker()).last.text
    other = (await admin.send("ok {first_name}")).last
    assert "Skip" in other.labels

    report = (await admin.send("/campaigns")).last
    assert "No broadcasts yet" in report.text
    asked = (await admin.press("⚙️ Weekly limit", message=report)).last
    assert "Type the new limit" in asked.text
    assert "from 1 to 50" in (await admin.send("0")).last.text
    assert "at most 3 offers" in (await admin.send("3")).last.text
    assert "at most 3 offers" in (await admin.send("/campaigns")).last.text

    assert "Нет доступа" in (await customer.send("/broadcast")).last.text
    assert "Нет доступа" in (await customer.send("/campaigns")).last.text
    forged = await customer.press_data(CampaignCb(action=CampaignAction.pause, id=1).pack())
    assert "Нет доступа" in forged.callback_answer.text


async def test_errors_in_a_row_pause_the_campaign_and_tell_its_starter(app, tg, monkeypatch):
    monkeypatch.setattr(campaign_engine, "ERRORS_IN_ROW", 3)
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    _, people = await consenting(app, tg, 450, 5)
    await compose(admin)
    await admin.send("Offer for {first_name}")
    preview = (await admin.press("Skip")).last
    # Telegram fails: the first three recipients, and the progress message after the first one
    tg.fail_next("sendMessage", 500, times=4)
    await admin.press("🚀 Send now", message=preview)
    await app.queue.drain()
    assert not any(got(p, "Offer") for p in people)
    warned = got(admin, "paused: 3 errors in a row")
    assert len(warned) == 1 and "Internal Server Error" in warned[0]
    [progress] = [m for m in admin.messages if "📣 Broadcast #" in (m.text or "")]
    assert "paused" in progress.text and "Failed: 3" in progress.text and "Left: 2" in progress.text
    assert "▶️ Resume" in progress.labels

    await admin.press("▶️ Resume", message=progress)
    await app.queue.drain()
    assert got(people[3], "Offer for Client3") and got(people[4], "Offer for Client4")
    async with app.session_factory() as s:
        campaign = await s.scalar(select(Campaign).order_by(Campaign.id.desc()))
        assert campaign.status == CampaignStatus.done


async def test_a_photo_with_a_link_button_scheduled_on_each_recipients_clock_consent_checked_when_due(
    app, tg, clock
):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    moscow, moscow_person = await linked_customer(app, tg, ADMIN_ID, 470, "Masha")
    yekat, yekat_person = await linked_customer(app, tg, ADMIN_ID, 471, "Yana", timezone="Asia/Yekaterinburg")
    await agree(app, moscow, yekat)

    await compose(admin)
    other = (await admin.send_photo(caption="Sale for {first_name} " + "y" * 1000)).last
    assert "Too long for a caption" in other.text
    await admin.send_photo(caption="Sale for {first_name}")
    replies = await admin.press("Skip")
    sample, preview = replies[0], replies.last
    assert sample.photo and sample.text == "Sale for Masha"

    await admin.press("🔗 Add a link button", message=preview)
    assert "label, a space and the address" in (await admin.send("no address")).last.text
    replies = await admin.send("Our shop https://shop.example.com")
    assert replies[0].buttons[0] == ["Our shop"] and replies[0].photo
    preview = replies.last

    await admin.press("🕒 Schedule", message=preview)
    assert "already passed" in (await admin.send("10.03 09:00")).last.text  # 09:00 in Moscow was an hour ago
    preview = (await admin.send("tomorrow 12:00")).last
    assert "Scheduled: Wed, 11 Mar, 12:00 in each recipient's time zone" in preview.text
    started = (await admin.press("🚀 Send at Wed, 11 Mar, 12:00", message=preview)).last
    assert "Started: 2 recipients" in started.text

    await app.queue.drain()
    clock.set(datetime(2026, 3, 11, 6, 59, tzinfo=UTC))
    await app.queue.drain()
    assert not [m for m in yekat_person.messages if m.photo]
    clock.set(datetime(2026, 3, 11, 7, 0, tzinfo=UTC))  # 12:00 in Yekaterinburg, 10:00 in Moscow
    await app.queue.drain()
    [to_yana] = [m for m in yekat_person.messages if m.photo]
    assert to_yana.text == "Sale for Yana" and to_yana.buttons[0] == ["Our shop"]
    assert to_yana.button("Our shop")["url"] == "https://shop.example.com"
    assert not [m for m in moscow_person.messages if m.photo]
    # Masha withdraws her consent meanwhile: checked when her message is due, it doesn't go
    await moscow_person.send("/stop")
    clock.set(datetime(2026, 3, 11, 9, 0, tzinfo=UTC))  # 12:00 in Moscow
    await app.queue.drain()
    assert not [m for m in moscow_person.messages if m.photo]
    async with app.session_factory() as s:
        campaign = await s.scalar(select(Campaign).order_by(Campaign.id.desc()))
        assert campaign.status == CampaignStatus.done and campaign.media_kind == "photo"
        row = await s.scalar(select(CampaignDelivery).where(CampaignDelivery.client_id == moscow))
        assert row.status == DeliveryStatus.no_consent


async def test_replies_are_not_held_back_by_a_broadcast(app, tg):
    """A broadcast keeps to its share of SEND_RATE: a person's command sent in the middle of it is
    answered while the broadcast is still going."""
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    _, people = await consenting(app, tg, 700, 40)
    await compose(admin)
    await admin.send("News for {first_name}")
    preview = (await admin.press("Skip")).last
    await admin.press("🚀 Send now", message=preview)
    sending = asyncio.create_task(app.queue.drain())
    for _ in range(500):  # until the broadcast is under way
        if got(people[5], "News"):
            break
        await asyncio.sleep(0.02)
    answered = await admin.send("/help")
    assert answered.last.text and not sending.done()
    assert not got(people[-1], "News")  # the broadcast wasn't over when the reply came
    await sending
    assert all(len(got(p, "News for")) == 1 for p in people)


async def test_the_tracked_link_in_the_text_counted_once_per_person_a_forged_one_a_plain_start(app, tg):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    people = await customers(app, tg)
    await compose(admin)
    other = (await admin.send("Привет, {first_name}! Подробнее: {link}")).last
    preview = (await admin.press("Skip", message=other)).last
    sample = [m for m in admin.messages if "Подробнее" in (m.text or "")][-1]
    [link] = re.findall(r"https://t\.me/\S+\?start=(k_[A-Za-z0-9_-]+)", sample.text)
    assert len(link) <= 64
    await admin.press("🚀 Send now", message=preview)
    await app.queue.drain()
    ivan = people["ivan"][1]
    [to_ivan] = got(ivan, "Подробнее")
    assert f"?start={link}" in to_ivan

    plain = (await tg.user(900, "Stranger").send("/start")).last.text
    stranger = tg.user(901, "Stranger")
    assert (await stranger.send(f"/start {link}")).last.text == plain  # the usual welcome
    ivan_plain = (await ivan.send("/start")).last.text
    assert (await ivan.send(f"/start {link}")).last.text == ivan_plain  # a customer: their menu
    await ivan.send(f"/start {link}")  # a second opening isn't counted again
    forged = tg.user(902, "Stranger")
    assert (await forged.send("/start k_forged-token")).last.text == plain
    async with app.session_factory() as s:
        clicks = (await s.scalars(select(CampaignLinkClick))).all()
    assert sorted(c.telegram_id for c in clicks) == [IVAN, 901]
    assert {c.telegram_id: c.client_id for c in clicks}[IVAN] == people["ivan"][0]
    report = (await admin.send("/campaigns")).last
    assert "Opened the link: 2" in report.text and f"?start={link}" in report.text


async def test_a_paid_broadcast_shows_its_stars_and_goes_with_allow_paid_broadcast(tg, db_url, engine, clock):
    """PAID_BROADCAST_RATE set: the preview offers the paid toggle; on, it shows the Stars estimate
    (N × (R − 30) / R × 0.1) and every message goes with allow_paid_broadcast, in the paid lane; off
    (the default), the toggle isn't there and a forged press of it is refused."""
    async with running_app(app_settings(tg, db_url, paid_broadcast_rate=500), clock, engine) as app:
        await tg.wait_for_bot()
        admin = tg.user(ADMIN_ID, "Olga", language_code="en")
        await admin.send("/start")
        _, people = await consenting(app, tg, 820, 4)
        await compose(admin)
        await admin.send("Sale for {first_name}")
        preview = (await admin.press("Skip")).last
        assert "Stars" not in preview.text
        shown = (await admin.press("▫️ ⭐ Paid broadcast (faster)", message=preview)).last
        # 4 × (500 − 30) / 500 × 0.1 = 0.376 Stars
        assert "up to 500 messages a second" in shown.text and "about <b>0.4</b> Stars for 4" in shown.html
        assert "✅ ⭐ Paid broadcast (faster)" in shown.labels
        await admin.press("🚀 Send now", message=shown)
        await app.queue.drain()
        assert all(len(got(p, "Sale for")) == 1 for p in people)
        recipients = {p.id for p in people}
        sales = [
            c
            for c in tg.calls
            if c.method == "sendMessage" and c.params.get("chat_id") in recipients and "Sale" in str(c.params)
        ]
        assert len(sales) == 4 and all(c.params.get("allow_paid_broadcast") is True for c in sales)
        progress = [c for c in tg.calls if "Broadcast #" in str(c.params.get("text"))]
        assert progress and not any(c.params.get("allow_paid_broadcast") for c in progress)

    async with running_app(app_settings(tg, db_url), clock, engine) as app:
        await tg.wait_for_bot()
        await compose(admin)
        await admin.send("Another one")
        preview = (await admin.press("Skip")).last
        assert "⭐" not in " ".join(preview.labels)
        async with app.session_factory() as s:
            draft = await s.scalar(select(Campaign.id).order_by(Campaign.id.desc()))
        forged = await admin.press_data(CampaignCb(action=CampaignAction.paid, id=draft).pack())
        assert "Paid broadcasts are turned off" in forged.callback_answer.text
