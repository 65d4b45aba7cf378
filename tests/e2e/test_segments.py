"""End to end: /segments through the fake Bot API — an admin builds a segment with buttons (a status
picked, a points range typed after three bad tries), sees the live counts after each condition, names
it (too long first; the name is escaped when shown) and saves it; a second Save is told the editing is
over; the list, the segment's clients opening the card, an edit (a condition removed, a rename) saved
with a version, a stale Edit refused, the audit trail, a delete confirmed (a second press: gone). A
manager's segment counts only their own clients, the owner field isn't theirs, another's segment is
"not found"; tags typed and "none of", a yes/no field; a customer gets no access."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.callbacks import SegmentAction, SegmentCb
from models.audit import AuditEvent
from models.clients import Client, ClientStatus, ClientTag
from models.consent import ClientConsent, Purpose
from models.loyalty import LoyaltyAccount
from models.segments import SavedSegment
from tests.conftest import ADMIN_ID
from tests.support.people import client_record, linked_customer, manager

ANNA, BORIS, IVAN, EVE = 200, 201, 300, 400


def flat(message) -> list[str]:
    return [label for row in message.buttons for label in row]


async def seed(app, tg) -> dict[str, int]:
    """Anna: Ivan Big (active, VIP, 500 points, linked, offers agreed), Maria (active, 50 points,
    tagged "opt"), Petr (prospect, 1000 points); Boris: Oleg (active, 700 points, tagged "opt")."""
    ivan, _person = await linked_customer(
        app, tg, ANNA, IVAN, "Ivan Big", status=ClientStatus.active, vip=True
    )
    ids = {
        "Ivan Big": ivan,
        "Maria": await client_record(app, ANNA, "Maria", status=ClientStatus.active),
        "Petr": await client_record(app, ANNA, "Petr", status=ClientStatus.prospect),
        "Oleg": await client_record(app, BORIS, "Oleg", status=ClientStatus.active),
    }
    now = app.clock.now()
    async with app.session_factory() as s, s.begin():
        for name, points in (("Ivan Big", 500), ("Maria", 50), ("Petr", 1000), ("Oleg", 700)):
            s.add(LoyaltyAccount(client_id=ids[name], balance=points, total_spend=0, purchases=0))
        s.add(ClientTag(client_id=ids["Maria"], tag="opt"))
        s.add(ClientTag(client_id=ids["Oleg"], tag="opt"))
        s.add(ClientConsent(client_id=ivan, purpose=Purpose.marketing, granted=True, updated_at=now))
    return ids


async def test_admin_builds_saves_reopens_edits_and_deletes_a_segment(app, tg):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    await manager(app, tg, ANNA, "Anna", lang="en")
    await manager(app, tg, BORIS, "Boris", lang="en")
    await seed(app, tg)

    listed = (await admin.send("/segments")).last
    assert "No segments yet" in listed.text and "➕ New segment" in flat(listed)
    editor = (await admin.press("➕ New segment", message=listed)).last
    assert "New segment" in editor.text and "Name: not given yet" in editor.text
    assert "No conditions: every client you see." in editor.text and "👥 Clients: 4" in editor.text

    # a status from buttons: pressed on, then added; the counts follow
    fields = (await admin.press("➕ Add a condition", message=editor)).last
    assert "Owner" in flat(fields)  # admins may make a condition on the owner
    picker = (await admin.press("Status", message=fields)).last
    picker = (await admin.press("active", message=picker)).last
    assert "✅ active" in flat(picker)
    add_status = picker.button("✅ Add the condition")["callback_data"]
    editor = (await admin.press_data(add_status, message=picker)).last
    assert "1. Status: active" in editor.text
    assert "👥 Clients: 3" in editor.text and "📣 Reachable for offers now: 1" in editor.text

    # a points range, typed: bad input is answered and asked again
    await admin.press("➕ Add a condition", message=editor)
    prompt = (await admin.press("Points balance")).last
    assert "type a range" in prompt.text
    assert "isn't a range of whole numbers" in (await admin.send("lots")).last.text
    assert "can't be negative" in (await admin.send("-5")).last.text
    assert "reversed: 500 is more than 100" in (await admin.send("500-100")).last.text
    editor = (await admin.send("100+")).last
    assert "2. Points balance: 100 and more" in editor.text
    assert "👥 Clients: 2" in editor.text and "📣 Reachable for offers now: 1" in editor.text
    assert "📝 Reachable for surveys now: 0" in editor.text

    # a button of an earlier screen does nothing to the draft
    stale = await admin.press_data(add_status, message=picker)
    assert "earlier screen" in stale.callback_answer.text

    # Save asks for the name first; too long is refused; the name is escaped when shown
    save = editor.button("💾 Save")["callback_data"]
    asked = (await admin.press_data(save, message=editor)).last
    assert "Type the segment's name" in asked.text
    assert "too long" in (await admin.send("x" * 61)).last.text
    done = (await admin.send("<b>VIP</b> & active")).last
    assert done.text.startswith("✅ Saved.")
    assert "&lt;b&gt;VIP&lt;/b&gt; &amp; active" in done.html
    assert "👥 Clients: 2" in done.text and {"👥 Clients", "✏️ Edit", "🗑 Delete"} <= set(flat(done))
    again = await admin.press_data(save, message=editor)
    assert "editing is over" in again.callback_answer.text
    async with app.session_factory() as s:
        seg = await s.scalar(select(SavedSegment))
        assert seg.name == "<b>VIP</b> & active" and seg.version == 1 and seg.created_by == ADMIN_ID
        assert seg.conditions == {
            "v": 1,
            "conditions": [
                {"field": "status", "values": ["active"]},
                {"field": "points", "min": 100, "max": None},
            ],
        }

    # the list, the segment's clients, a card
    listed = (await admin.send("/segments")).last
    assert "<b>VIP</b> & active — clients: 2, reachable for offers: 1" in listed.text
    opened = (await admin.press("🎯 <b>VIP</b> & active (2)", message=listed)).last
    clients = (await admin.press("👥 Clients", message=opened)).last
    assert [b for b in flat(clients) if b.startswith("👤")] == ["👤 ⭐ Ivan Big", "👤 Oleg"]
    card = (await admin.press("👤 Oleg", message=clients)).last
    assert "Oleg" in card.text
    listed = (await admin.send("/segments")).last
    back = (await admin.press("🎯 <b>VIP</b> & active (2)", message=listed)).last
    old_edit = back.button("✏️ Edit")["callback_data"]

    # edit: remove the points condition, rename, save (the version goes up)
    editor = (await admin.press("✏️ Edit", message=back)).last
    assert "editing" in editor.text and "2. Points balance: 100 and more" in editor.text
    editor = (await admin.press("✖ 2. Points balance: 100 and more", message=editor)).last
    assert "2. Points" not in editor.text and "👥 Clients: 3" in editor.text
    await admin.press("✏️ Name", message=editor)
    editor = (await admin.send("Active clients")).last
    assert "Name: Active clients" in editor.text
    saved = (await admin.press("💾 Save", message=editor)).last
    assert saved.text.startswith("✅ Saved.") and "🎯 Active clients" in saved.text
    assert "👥 Clients: 3" in saved.text
    stale_edit = await admin.press_data(old_edit, message=saved)
    assert "changed since it was shown" in stale_edit.callback_answer.text
    async with app.session_factory() as s:
        seg = await s.get(SavedSegment, seg.id)
        assert seg.version == 2 and seg.name == "Active clients"
        events = (await s.scalars(select(AuditEvent).where(AuditEvent.action.like("segment.%")))).all()
        assert [(e.action, e.actor_id, e.after) for e in events] == [
            ("segment.create", ADMIN_ID, "<b>VIP</b> & active"),
            ("segment.update", ADMIN_ID, "Active clients"),
        ]

    # delete, confirmed; pressing the confirmation again says it is gone
    ask = (await admin.press("🗑 Delete", message=admin.last)).last
    assert "Delete the segment <b>Active clients</b>?" in ask.html
    confirm = ask.button("🗑 Yes, delete")["callback_data"]
    gone = await admin.press_data(confirm, message=ask)
    assert gone.callback_answer.text == "Deleted." and "No segments yet" in gone.last.text
    twice = await admin.press_data(confirm, message=ask)
    assert "no longer exists" in twice.callback_answer.text
    async with app.session_factory() as s:
        assert await s.scalar(select(SavedSegment)) is None
        deleted = await s.scalar(select(AuditEvent).where(AuditEvent.action == "segment.delete"))
        assert deleted.before == "Active clients" and deleted.actor_id == ADMIN_ID


async def test_a_manager_counts_only_their_own_clients(app, tg):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    anna = await manager(app, tg, ANNA, "Anna", lang="en")
    await manager(app, tg, BORIS, "Boris", lang="en")
    await seed(app, tg)

    listed = (await anna.send("/segments")).last
    editor = (await anna.press("➕ New segment", message=listed)).last
    assert "👥 Clients: 3 (only your clients count)" in editor.text
    fields = (await anna.press("➕ Add a condition", message=editor)).last
    assert "Owner" not in flat(fields)
    screen = SegmentCb.unpack(fields.button("Status")["callback_data"]).v
    owner_field = SegmentCb(action=SegmentAction.field, v=screen, arg=14).pack()
    forged = await anna.press_data(owner_field, message=fields)
    assert "Only admins" in forged.callback_answer.text

    # tags: the common one offered, another typed; "none of" them
    picker = (await anna.press("Tags", message=fields)).last
    assert "#opt" in flat(picker)  # Maria's (Oleg's is Boris's: the same tag, counted once)
    picker = (await anna.send("#Wholesale Buyers")).last
    assert "✅ #wholesale_buyers" in flat(picker)
    picker = (await anna.press("#opt", message=picker)).last
    picker = (await anna.press("⚪ none of", message=picker)).last
    assert "🔘 none of" in flat(picker)
    editor = (await anna.press("✅ Add the condition", message=picker)).last
    assert "1. Tags: none of #opt, #wholesale_buyers" in editor.text
    assert "👥 Clients: 2 (only your clients count)" in editor.text  # Ivan Big and Petr
    # a yes/no field
    await anna.press("➕ Add a condition", message=editor)
    await anna.press("VIP")
    editor = (await anna.press("No")).last
    assert "2. VIP: no" in editor.text and "👥 Clients: 1" in editor.text  # Petr
    # text typed where buttons are expected is answered, the editor shown again
    hint = (await anna.send("hello")).last
    assert "use the buttons" in hint.text and "2. VIP: no" in hint.text
    await anna.press("💾 Save", message=hint)
    saved = (await anna.send("Quiet ones")).last
    assert saved.text.startswith("✅ Saved.") and "👥 Clients: 1" in saved.text

    # one name per person (any case); the admin sees Anna's segment, counted over the whole base
    await anna.send("/segments")
    editor = (await anna.press("➕ New segment")).last
    await anna.press("💾 Save", message=editor)
    assert "already have a segment called «Quiet ones»" in (await anna.send("QUIET ONES")).last.text
    mine = (await anna.send("Everyone of mine")).last
    assert "👥 Clients: 3" in mine.text
    everyone = (await admin.send("/segments")).last
    # over the whole base: Petr still (Oleg is tagged "opt"); made by Anna
    assert "Quiet ones — clients: 1, reachable for offers: 0 · Anna" in everyone.text
    async with app.session_factory() as s:
        theirs = await s.scalar(select(SavedSegment).where(SavedSegment.name == "Quiet ones"))
        admin_seg = SavedSegment(
            name="Admin's",
            name_key="admin's",
            created_by=ADMIN_ID,
            conditions={"v": 1, "conditions": []},
            version=1,
            created_at=app.clock.now(),
            updated_at=app.clock.now(),
        )
        s.add(admin_seg)
        await s.commit()
        admin_seg_id = admin_seg.id
    assert theirs.created_by == ANNA
    # Anna can't open (or count, or list) the admin's segment: "not found"
    for action in (SegmentAction.open, SegmentAction.clients, SegmentAction.edit):
        forged = await anna.press_data(
            SegmentCb(action=action, id=admin_seg_id, v=1).pack(), message=anna.last
        )
        assert "no longer exists" in forged.callback_answer.text
    assert "Admin's" not in (await anna.send("/segments")).last.text


async def test_a_customer_gets_no_access_and_russian_comes_first(app, tg, admin):
    eve = tg.user(EVE, "Eve", language_code="en")
    await eve.send("/start")
    assert "Not allowed" in (await eve.send("/segments")).last.text
    for data in (SegmentCb(action=SegmentAction.list), SegmentCb(action=SegmentAction.new)):
        forged = await eve.press_data(data.pack(), message=eve.last)
        assert "Not allowed" in forged.callback_answer.text
    # the admin of conftest reads Russian; a client of theirs, so the count isn't empty
    await client_record(app, ADMIN_ID, "Клиент", last_contact_at=app.clock.now() - timedelta(days=3))
    listed = (await admin.send("/segments")).last
    assert "Сегменты" in listed.text and "➕ Новый сегмент" in flat(listed)
    editor = (await admin.press("➕ Новый сегмент", message=listed)).last
    await admin.press("➕ Добавить условие", message=editor)
    await admin.press("Дней с последнего контакта")
    editor = (await admin.send("0-7")).last
    assert "👥 Клиентов: 1" in editor.text
    async with app.session_factory() as s:
        assert (await s.scalar(select(Client.name))) == "Клиент"
