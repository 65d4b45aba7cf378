"""Broadcasts (staff): /broadcast — the audience from buttons (every client or a saved segment, the
reachable count shown first), the text typed in the default language and optionally in the other one
(placeholders checked as it is typed), a preview for a sample recipient, a test to oneself, Send;
the progress message's Pause / Resume / Cancel; /campaigns with the results and, for admins, the weekly
limit of offers and the export of every campaign's results (the export's usual format buttons and
job). A recipient's "I'm interested" press is recorded once.

The draft is a campaigns row (status "draft"); the dialog data holds its id under "campaign"."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import CampaignAction, CampaignCb, ExportAction, ExportCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, end_dialog, next_step
from bot.edit import edit_or_send
from bot.views import campaigns as views
from bot.views import export as export_views
from models.campaigns import Campaign
from services import timeparse
from services.access import sees_everything
from services.campaigns import core, links
from services.campaigns import results as campaign_results
from services.campaigns.texts import render
from services.errors import DomainError
from services.export import datasets
from services.export.datasets import Dataset
from services.segments import query as segment_query
from services.segments import saved
from services.users import SUPPORTED_LANGUAGES

router = Router(name="campaigns")
ADMIN = {"role": "admin"}  # broadcasts and their results are the admins' (the issue's spec)
STAFF = {"role": "staff"}  # checked in the handler, to tell a manager why not
ANY = {"role": "any"}
TYPED = (F.text, ~F.text.startswith("/"))
KEY = "campaign"


class Broadcast(StatesGroup):
    text = State()  # the text in the default language (with a photo or a document, its caption)
    other = State()  # the text in the other language (or Skip)
    preview = State()  # the preview: test, the buttons, the time, Send
    link = State()  # typing a link button
    when = State()  # typing the time
    cap = State()  # an admin types the weekly limit


def _cb(action: CampaignAction) -> Any:
    return CampaignCb.filter(F.action == action)


async def _basis(ctx: Ctx) -> segment_query.Basis:
    return await segment_query.basis(
        ctx.session, ctx.now(), ctx.settings.default_currency, ctx.settings.default_language
    )


def _other(campaign: Campaign) -> str | None:
    return next((code for code in SUPPORTED_LANGUAGES if code != campaign.default_language), None)


async def _draft(ctx: Ctx) -> Campaign | None:
    """The campaign of the dialog in progress, while it is still a draft."""
    campaign_id = (await ctx.state.get_data()).get(KEY)
    if not isinstance(campaign_id, int):
        return None
    try:
        return await core.draft_of(ctx.session, ctx.user, campaign_id)
    except DomainError:
        return None


async def _pressed_draft(query: CallbackQuery, cb: CampaignCb, ctx: Ctx) -> Campaign | None:
    """The draft a preview button is about; else the press is answered and None."""
    try:
        campaign = await core.of_viewer(ctx.session, ctx.user, cb.id)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return None
    if campaign.status != "draft":
        await query.answer(views.error(DomainError("campaign_started")), show_alert=True)
        return None
    return campaign


# --- /broadcast ---


@router.message(Command("broadcast"), flags=ADMIN)
async def broadcast_command(message: Message, ctx: Ctx) -> None:
    await end_dialog(ctx.state)
    listed = await saved.listing(ctx.session, ctx.user, 0)
    await message.answer(views.audience_text(), reply_markup=views.audience_keyboard(listed.items))


@router.callback_query(_cb(CampaignAction.audience), flags=ADMIN)
async def audience_chosen(query: CallbackQuery, callback_data: CampaignCb, ctx: Ctx) -> None:
    try:
        aud = await core.audience(ctx.session, ctx.user, callback_data.id or None)
        reachable = await core.reachable(ctx.session, ctx.user, aud, await _basis(ctx))
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    if reachable == 0:
        await query.answer(views.error(DomainError("campaign_audience_empty")), show_alert=True)
        return
    campaign = await core.create_draft(ctx.session, ctx.user, aud, ctx.settings.default_language, ctx.now())
    await links.ensure(ctx.session, [campaign.id], (await ctx.bot.me()).username or "", ctx.now())
    await begin_dialog(ctx.state, Broadcast.text, **{KEY: campaign.id})
    await edit_or_send(query, views.text_prompt(campaign, reachable, campaign.default_language))
    await query.answer()


@router.message(StateFilter(Broadcast.text), F.photo | F.document, flags=ADMIN)
@router.message(StateFilter(Broadcast.text, Broadcast.other), *TYPED, flags=ADMIN)
async def text_typed(message: Message, ctx: Ctx) -> None:
    campaign = await _draft(ctx)
    if campaign is None:
        await end_dialog(ctx.state)
        await message.answer(views.dialog_over())
        return
    default = await ctx.state.get_state() == Broadcast.text.state
    language = campaign.default_language if default else _other(campaign)
    try:
        if default:
            kind, file_id = views.media_of(message) or (None, None)
            core.set_media(campaign, kind, file_id)
        core.set_text(campaign, language or campaign.default_language, message.html_text)
    except DomainError as e:
        await message.answer(views.error(e))
        return
    other = _other(campaign)
    if default and other is not None:
        await next_step(ctx.state, Broadcast.other)
        text, markup = views.other_prompt(campaign, other)
        await message.answer(text, reply_markup=markup)
        return
    await _preview(message, ctx, campaign)


@router.message(
    StateFilter(Broadcast.text, Broadcast.other, Broadcast.link, Broadcast.when),
    ~F.text.startswith("/"),
    ~F.text,
    flags=ADMIN,
)
async def not_text(message: Message, ctx: Ctx) -> None:
    await message.answer(views.typed_not_text())


@router.callback_query(_cb(CampaignAction.skip), StateFilter(Broadcast.other), flags=ADMIN)
async def skip_pressed(query: CallbackQuery, callback_data: CampaignCb, ctx: Ctx) -> None:
    campaign = await _draft(ctx)
    if campaign is None or campaign.id != callback_data.id:
        await query.answer(views.dialog_over(), show_alert=True)
        return
    await query.answer()
    if query.message is not None and isinstance(query.message, Message):
        await _preview(query.message, ctx, campaign)


async def _show(message: Message, ctx: Ctx, campaign: Campaign, text: str) -> None:
    """The message as a recipient gets it (with its photo or document), under `message`."""
    media = (campaign.media_kind, campaign.media_file_id)
    await views.show(message, media, text, views.recipient_markup(campaign, 0))


async def _choices(ctx: Ctx, campaign: Campaign) -> tuple[str, InlineKeyboardMarkup]:
    aud = await core.audience(ctx.session, ctx.user, campaign.segment_id)
    reachable = await core.reachable(ctx.session, ctx.user, aud, await _basis(ctx))
    cap = await core.weekly_cap(ctx.session)
    when = views.wall_text(campaign, ctx.locale)
    paid_rate = ctx.settings.paid_broadcast_rate
    text = views.preview_text(campaign, reachable, cap, when, paid_rate)
    return text, views.preview_keyboard(campaign, when, paid_rate > 0)


async def _preview(message: Message, ctx: Ctx, campaign: Campaign) -> None:
    """The message as the sample recipient gets it, in each language typed, then the choices."""
    await next_step(ctx.state, Broadcast.preview)
    values = await core.sample(ctx.session, ctx.user, campaign, await _basis(ctx))
    for language in campaign.texts:
        with ctx.i18n.use_locale(language):
            await _show(message, ctx, campaign, render(campaign.texts[language], values))
    text, markup = await _choices(ctx, campaign)
    await message.answer(text, reply_markup=markup)


@router.callback_query(_cb(CampaignAction.interest), flags=ADMIN)
async def interest_toggled(query: CallbackQuery, callback_data: CampaignCb, ctx: Ctx) -> None:
    campaign = await _pressed_draft(query, callback_data, ctx)
    if campaign is None:
        return
    campaign.interested = not campaign.interested
    await edit_or_send(query, *await _choices(ctx, campaign))
    await query.answer()


@router.callback_query(_cb(CampaignAction.paid), flags=ADMIN)
async def paid_toggled(query: CallbackQuery, callback_data: CampaignCb, ctx: Ctx) -> None:
    campaign = await _pressed_draft(query, callback_data, ctx)
    if campaign is None:
        return
    if not ctx.settings.paid_broadcast_rate:  # a button of a time when it was on, or a forged one
        await query.answer(views.paid_off(), show_alert=True)
        return
    campaign.paid = not campaign.paid
    await edit_or_send(query, *await _choices(ctx, campaign))
    await query.answer()


@router.callback_query(_cb(CampaignAction.unlink), flags=ADMIN)
async def unlink_pressed(query: CallbackQuery, callback_data: CampaignCb, ctx: Ctx) -> None:
    campaign = await _pressed_draft(query, callback_data, ctx)
    if campaign is None:
        return
    campaign.buttons = []
    await edit_or_send(query, *await _choices(ctx, campaign))
    await query.answer()


@router.callback_query(_cb(CampaignAction.now), flags=ADMIN)
async def now_pressed(query: CallbackQuery, callback_data: CampaignCb, ctx: Ctx) -> None:
    campaign = await _pressed_draft(query, callback_data, ctx)
    if campaign is None:
        return
    core.schedule(campaign, None, ctx.tz)
    await edit_or_send(query, *await _choices(ctx, campaign))
    await query.answer()


@router.callback_query(_cb(CampaignAction.link), flags=ADMIN)
async def link_pressed(query: CallbackQuery, callback_data: CampaignCb, ctx: Ctx) -> None:
    if await _pressed_draft(query, callback_data, ctx) is None:
        return
    await next_step(ctx.state, Broadcast.link, **{KEY: callback_data.id})
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(views.link_prompt())


@router.callback_query(_cb(CampaignAction.when), flags=ADMIN)
async def when_pressed(query: CallbackQuery, callback_data: CampaignCb, ctx: Ctx) -> None:
    if await _pressed_draft(query, callback_data, ctx) is None:
        return
    await next_step(ctx.state, Broadcast.when, **{KEY: callback_data.id})
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(views.when_prompt())


@router.message(StateFilter(Broadcast.link, Broadcast.when), *TYPED, flags=ADMIN)
async def link_or_time_typed(message: Message, ctx: Ctx) -> None:
    campaign = await _draft(ctx)
    if campaign is None:
        await end_dialog(ctx.state)
        await message.answer(views.dialog_over())
        return
    try:
        if await ctx.state.get_state() == Broadcast.link.state:
            core.add_button(campaign, message.text)
        else:
            core.schedule(
                campaign, timeparse.parse_when(message.text or "", ctx.now(), ctx.tz, ctx.locale), ctx.tz
            )
    except DomainError as e:
        await message.answer(views.error(e))
        return
    await _preview(message, ctx, campaign)


@router.callback_query(_cb(CampaignAction.test), flags=ADMIN)
async def test_pressed(query: CallbackQuery, callback_data: CampaignCb, ctx: Ctx) -> None:
    campaign = await _pressed_draft(query, callback_data, ctx)
    if campaign is None:
        return
    values = await core.sample(ctx.session, ctx.user, campaign, await _basis(ctx))
    await query.answer(views.test_note())
    if isinstance(query.message, Message):
        await _show(query.message, ctx, campaign, render(core.text_for(campaign, ctx.locale), values))


@router.callback_query(_cb(CampaignAction.send), flags=ADMIN)
async def send_pressed(query: CallbackQuery, callback_data: CampaignCb, ctx: Ctx) -> None:
    try:
        count = await core.start(
            ctx.session, ctx.user, callback_data.id, await _basis(ctx), ctx.now(), ctx.tz
        )
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    campaign = await core.of_viewer(ctx.session, ctx.user, callback_data.id)
    campaign.progress_chat_id = ctx.user.id
    await end_dialog(ctx.state)
    await edit_or_send(query, views.started(count))
    await query.answer()


@router.callback_query(_cb(CampaignAction.drop), flags=ADMIN)
async def drop_pressed(query: CallbackQuery, callback_data: CampaignCb, ctx: Ctx) -> None:
    campaign = await _pressed_draft(query, callback_data, ctx)
    if campaign is None:
        return
    await ctx.session.delete(campaign)
    await end_dialog(ctx.state)
    await edit_or_send(query, views.discarded())
    await query.answer()


# --- the progress message ---


async def _control(query: CallbackQuery, ctx: Ctx, campaign: Campaign, note: str) -> None:
    await ctx.session.refresh(campaign)
    counts = await core.counts(ctx.session, campaign.id)
    text = views.progress_text(campaign, counts, None, views.wall_text(campaign, ctx.locale))
    await edit_or_send(query, text, views.progress_keyboard(campaign))
    await query.answer(note)


@router.callback_query(_cb(CampaignAction.pause), flags=ADMIN)
async def pause_pressed(query: CallbackQuery, callback_data: CampaignCb, ctx: Ctx) -> None:
    try:
        campaign = await core.pause(ctx.session, ctx.user, callback_data.id)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    await _control(query, ctx, campaign, views.paused())


@router.callback_query(_cb(CampaignAction.resume), flags=ADMIN)
async def resume_pressed(query: CallbackQuery, callback_data: CampaignCb, ctx: Ctx) -> None:
    try:
        campaign = await core.resume(ctx.session, ctx.user, callback_data.id, ctx.now())
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    await _control(query, ctx, campaign, views.resumed())


@router.callback_query(_cb(CampaignAction.cancel), flags=ADMIN)
async def cancel_pressed(query: CallbackQuery, callback_data: CampaignCb, ctx: Ctx) -> None:
    try:
        campaign = await core.cancel(ctx.session, ctx.user, callback_data.id, ctx.now())
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    await _control(query, ctx, campaign, views.cancelled())


# --- a recipient's "I'm interested" ---


@router.callback_query(_cb(CampaignAction.interested), flags=ANY)
async def interested_pressed(query: CallbackQuery, callback_data: CampaignCb, ctx: Ctx) -> None:
    try:
        new = await core.click(ctx.session, callback_data.id, ctx.user.id, ctx.now())
    except DomainError:
        await query.answer(views.interest_unknown(), show_alert=True)
        return
    await query.answer(views.interest_thanks() if new else views.interest_again(), show_alert=True)


# --- /campaigns ---


@router.message(Command("campaigns"), flags=ADMIN)
async def campaigns_command(message: Message, ctx: Ctx) -> None:
    me = await ctx.bot.me()
    results = await campaign_results.results(ctx.session, ctx.user, me.username or "", ctx.now())
    cap = await core.weekly_cap(ctx.session)
    await message.answer(
        views.results_text(results, cap), reply_markup=views.results_keyboard(sees_everything(ctx.user))
    )


@router.callback_query(_cb(CampaignAction.export), flags=STAFF)
async def export_pressed(query: CallbackQuery, ctx: Ctx) -> None:
    """The export's format buttons for every campaign's results, under the report (admins only)."""
    try:
        datasets.check_allowed(ctx.user, Dataset.campaigns)
    except DomainError as e:
        await query.answer(export_views.export_error(e), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        cb = ExportCb(action=ExportAction.formats, ds=Dataset.campaigns.value)
        await query.message.answer(
            export_views.formats_text(Dataset.campaigns), reply_markup=export_views.formats_markup(cb)
        )


@router.callback_query(_cb(CampaignAction.cap), flags=ADMIN)
async def cap_pressed(query: CallbackQuery, ctx: Ctx) -> None:
    if not sees_everything(ctx.user):
        await query.answer(views.error(DomainError("not_allowed")), show_alert=True)
        return
    await begin_dialog(ctx.state, Broadcast.cap)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(views.cap_prompt(await core.weekly_cap(ctx.session)))


@router.message(StateFilter(Broadcast.cap), F.text, flags=ADMIN)
async def cap_typed(message: Message, ctx: Ctx) -> None:
    try:
        cap = await core.set_weekly_cap(ctx.session, ctx.user, message.text, ctx.now())
    except DomainError as e:
        await message.answer(views.error(e))
        return
    await end_dialog(ctx.state)
    await message.answer(views.cap_saved(cap))
