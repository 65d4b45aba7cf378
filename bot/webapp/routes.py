"""The Mini App's handlers: each reads its parameters, calls the same services as the bot (in the
request's one transaction, opened by the server's middleware) and renders HTML or answers JSON."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup

from bot.messages import error_text
from bot.views import clients as clients_views
from bot.views import deals as deals_views
from bot.views import interactions as interactions_views
from bot.views import reminders as reminders_views
from bot.webapp import texts
from bot.webapp.context import BASE, Web, web_of
from bot.webapp.render import ASSETS, ENV, STATIC, asset_version, render
from models.clients import ClientStatus
from models.deals import Deal
from services import access, card, interactions, reminders, search
from services.analytics.segments import ORDER as SEGMENTS
from services.analytics.segments import Segment
from services.clients import browse
from services.deals import board as board_service
from services.deals import change_stage, reading
from services.errors import DomainError, NotAllowed, NotFound
from services.timeparse import parse_when
from services.users import staff

CONTENT_TYPES = {"app.js": "text/javascript", "app.css": "text/css"}
ABC = ("A", "B", "C")
VERSION = asset_version()


def public(handler):
    """No initData needed: the page's shell and its static files hold no data."""
    handler.public = True
    return handler


class BadInput(Exception):
    pass


def _html(body: str) -> web.Response:
    return web.Response(text=body, content_type="text/html", charset="utf-8")


def _refuse(w: Web, e: DomainError) -> web.Response:
    status = 404 if isinstance(e, NotFound) else 403 if isinstance(e, NotAllowed) else 422
    return web.json_response({"error": e.code, "message": _message(w, e)}, status=status)


def _message(w: Web, e: DomainError) -> str:
    code = e.code
    if code.startswith("deal_") or code in ("empty", "too_long"):
        return deals_views.error(e)
    if code.startswith(("reminder_", "time_")):
        return reminders_views.error_message(e, w.tz, w.locale, w.now())
    if code in ("note_long", "bad_choice"):
        return interactions_views.error_message(e)
    return error_text(e)


def _int(value: Any, *, default: int | None = None, low: int = 0, high: int = 2**62) -> int | None:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadInput() from None
    if not low <= number <= high:
        raise BadInput()
    return number


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.text())
    except (ValueError, UnicodeDecodeError):
        raise BadInput() from None
    if not isinstance(body, dict):
        raise BadInput()
    return body


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadInput()
    return value.strip()


def _bad_input() -> web.Response:
    return web.json_response({"error": "bad_input", "message": texts.bad_input()}, status=400)


def _page(w: Web, name: str, **values: Any) -> web.Response:
    return _html(render(name, locale=w.locale, tz=w.tz, now=w.now(), **values))


# --- the shell and its files ---


@public
async def page(request: web.Request) -> web.Response:
    base = request.app[BASE]
    return _html(ENV.get_template("page.html").render(base=base, version=VERSION))


@public
async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound()
    return web.Response(
        body=(STATIC / name).read_bytes(),
        content_type=CONTENT_TYPES[name],
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


# --- the board ---


def _board_filter(w: Web, query: Any) -> tuple[board_service.BoardFilter, str]:
    """A manager sees their own deals only; an admin: their own, everyone's ("all") or one owner's."""
    tag = search.normalize_tag(query.get("tag", ""))[:50] or None
    if not access.sees_everything(w.user):
        return board_service.BoardFilter(owner_id=w.user.id, tag=tag), "me"
    owner = query.get("owner") or "me"
    if owner == "all":
        return board_service.BoardFilter(owner_id=None, tag=tag), "all"
    owner_id = w.user.id if owner == "me" else _int(owner, low=1)
    return board_service.BoardFilter(owner_id=owner_id, tag=tag), "me" if owner_id == w.user.id else owner


async def board(request: web.Request) -> web.Response:
    w = web_of(request)
    try:
        flt, owner = _board_filter(w, request.query)
    except BadInput:
        return _bad_input()
    stages = w.deps.settings.deal_stages
    columns = await board_service.board(w.session, flt, stages)
    admin = access.sees_everything(w.user)
    people = sorted(await staff(w.session), key=lambda u: u.display_name.casefold()) if admin else []
    return _page(
        w, "board.html", columns=columns, stages=stages, admin=admin, people=people, owner=owner, tag=flt.tag
    )


def deal_state(deal: Deal) -> dict[str, Any]:
    return {
        "id": deal.id,
        "version": deal.version,
        "stage": deal.stage,
        "stage_name": deals_views.stage_name(deal.stage),
        "title": deal.title,
    }


async def move(request: web.Request) -> web.Response:
    """A card to another stage: the bot's stage change (a DealEvent; lost needs a reason; won may
    plan a survey), guarded by the version the board showed: a stale move answers 409 and the
    deal as it is now."""
    w = web_of(request)
    try:
        deal_id = _int(request.match_info["deal_id"], low=1)
        body = await _body(request)
        version = _int(body.get("version"), low=1)
        stage, reason = _text(body, "stage"), _text(body, "reason")
    except BadInput:
        return _bad_input()
    if version is None or not stage:
        return _bad_input()
    if stage == "lost" and not reason:
        return web.json_response({"error": "reason_required", "message": texts.reason_required()}, status=422)
    stages = w.deps.settings.deal_stages
    try:
        deal = await change_stage(
            w.session, w.user, deal_id, version, stage, stages, w.now(), reason=reason or None
        )
    except DomainError as e:
        if e.code not in ("deal_changed", "deal_same_stage"):
            return _refuse(w, e)
        fresh, _ = await reading.visible_deal(w.session, w.user, deal_id)  # type: ignore[arg-type]
        await w.session.refresh(fresh)
        return web.json_response(
            {"error": "deal_changed", "message": texts.changed(), "deal": deal_state(fresh)}, status=409
        )
    return web.json_response({"ok": True, "message": texts.labels()["moved"], "deal": deal_state(deal)})


# --- clients ---


def _browse_filter(query: Any) -> browse.BrowseFilter:
    try:
        status = ClientStatus(query["status"]) if query.get("status") else None
        segment = Segment(query["segment"]) if query.get("segment") else None
    except ValueError:
        raise BadInput() from None
    abc = query.get("abc") or None
    if abc is not None and abc not in ABC:
        raise BadInput()
    stale = _int(query.get("stale"), low=1, high=browse.STALE_DAYS_MAX)
    tag = search.normalize_tag(query.get("tag", "")) or None
    return browse.BrowseFilter(status=status, segment=segment, abc=abc, stale_days=stale, tag=tag)


async def clients(request: web.Request) -> web.Response:
    """The list: newest first in keyset pages, or the /find search page by page; `more=1` answers
    only the next rows (infinite scroll)."""
    w = web_of(request)
    query = request.query
    text = " ".join(query.get("q", "").split())[:200]
    try:
        flt = _browse_filter(query)
        after, page_no = _int(query.get("after"), low=1), _int(query.get("page"), default=0, high=10_000)
    except BadInput:
        return _bad_input()
    parsed = search.parse_query(text, w.deps.settings.default_region) if text else None
    if parsed is not None and not parsed.empty:
        listing = await browse.find(w.session, w.user, parsed, flt, w.now(), page=page_no or 0)
    elif parsed is not None:
        listing = browse.Listing([])
    else:
        listing = await browse.browse(w.session, w.user, flt, w.now(), after=after)
    keep = {k: v for k, v in query.items() if k in ("q", "status", "segment", "abc", "stale", "tag") and v}
    more = None
    if listing.has_next:
        step = {"page": listing.page} if parsed is not None else {"after": listing.after}
        more = urlencode(keep | step | {"more": "1"})
    name = "client_rows.html" if query.get("more") == "1" else "clients.html"
    return _page(
        w,
        name,
        listing=listing,
        more=more,
        params=keep,
        statuses=list(ClientStatus),
        segments=SEGMENTS,
        classes=ABC,
    )


async def client_card(request: web.Request) -> web.Response:
    """What the bot's card shows (the same read model and text), the deals, the log, and the
    Log contact and Remind forms."""
    w = web_of(request)
    try:
        client_id = _int(request.match_info["client_id"], low=1)
        data = await card.open_card(w.session, w.user, client_id)  # type: ignore[arg-type]
    except BadInput:
        return _bad_input()
    except DomainError as e:
        return _refuse(w, e)
    _, deals = await reading.client_deals(w.session, w.user, data.client.id)
    log = await interactions.history(w.session, w.user, data.client.id)
    return _page(
        w,
        "card.html",
        client=data.client,
        card_text=Markup(clients_views.card_text(data, w.tz, w.locale)),  # noqa: S704 (the bot's escaped text)
        deals=deals.items,
        log=log,
        kinds=interactions_views.kind_names(),
        outcomes=interactions_views.outcome_names(),
    )


async def log_contact(request: web.Request) -> web.Response:
    w = web_of(request)
    try:
        client_id = _int(request.match_info["client_id"], low=1)
        body = await _body(request)
        kind, outcome = _text(body, "kind"), _text(body, "outcome")
        note, step, when = _text(body, "note"), _text(body, "next_text"), _text(body, "next_when")
    except BadInput:
        return _bad_input()
    now = w.now()
    try:
        next_step = None
        if step or when:
            due = parse_when(when, now, w.tz, w.locale)
            next_step = interactions.NextStep(reminders.clean_text(step), due)
        await interactions.log_contact(
            w.session,
            w.user,
            client_id,  # type: ignore[arg-type]
            interactions.kind_of(kind),
            interactions.outcome_of(outcome),
            now,
            note=note or None,
            next_step=next_step,
        )
    except DomainError as e:
        return _refuse(w, e)
    return web.json_response({"ok": True, "message": texts.labels()["saved"]})


async def remind(request: web.Request) -> web.Response:
    w = web_of(request)
    try:
        client_id = _int(request.match_info["client_id"], low=1)
        body = await _body(request)
        what, when = _text(body, "text"), _text(body, "when")
    except BadInput:
        return _bad_input()
    now = w.now()
    try:
        client = await access.visible_client(w.session, w.user, client_id)  # type: ignore[arg-type]
        due = parse_when(when, now, w.tz, w.locale)
        await reminders.create(
            w.session, w.user.id, reminders.clean_text(what), due, now, client_id=client.id
        )
    except DomainError as e:
        return _refuse(w, e)
    return web.json_response({"ok": True, "message": texts.labels()["saved"]})


# --- my day ---


async def today(request: web.Request) -> web.Response:
    w = web_of(request)
    agenda = await reminders.agenda(w.session, w.user.id, w.now(), w.tz)
    return _page(w, "today.html", agenda=agenda)


async def reminder_action(request: web.Request) -> web.Response:
    """Done, or a snooze (+15 min, +1 hour, tomorrow 9:00), as the reminder's buttons in the bot."""
    w = web_of(request)
    action = request.match_info["action"]
    try:
        reminder_id = _int(request.match_info["reminder_id"], low=1)
    except BadInput:
        return _bad_input()
    now = w.now()
    try:
        if action == "done":
            await reminders.mark_done(w.session, w.user, reminder_id, now)  # type: ignore[arg-type]
        else:
            until = reminders.snooze_until(action, now, w.tz)
            await reminders.reschedule(w.session, w.user, reminder_id, until, now)  # type: ignore[arg-type]
    except DomainError as e:
        return _refuse(w, e)
    return web.json_response({"ok": True, "message": texts.labels()["saved"]})


def register(app: web.Application) -> None:
    r = app.router
    r.add_get("/", page)
    r.add_get("/static/{name}", static)
    r.add_get("/f/board", board)
    r.add_post("/api/deals/{deal_id}/stage", move)
    r.add_get("/f/clients", clients)
    r.add_get("/f/clients/{client_id}", client_card)
    r.add_post("/api/clients/{client_id}/log", log_contact)
    r.add_post("/api/clients/{client_id}/remind", remind)
    r.add_get("/f/today", today)
    r.add_post("/api/reminders/{reminder_id}/{action:done|s15|s60|tomorrow}", reminder_action)
