"""/reports (staff: admins see everyone's figures with a line per manager, managers their own): the
menu, a report for a period (its text, a PNG chart and the period and export buttons), the report's
table as CSV or XLSX, and (admins) the competition level r of the loyalty index."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.callbacks import ReportAction, ReportCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, end_dialog
from bot.edit import edit_or_send
from bot.text import split_message, visible_length
from bot.views import charts
from bot.views import reports as views
from services.access import sees_everything
from services.analytics import satisfaction
from services.analytics.reports import build
from services.analytics.reports.periods import Period
from services.errors import DomainError
from services.export.files import Column, Format, TableWriter

STAFF = {"role": "staff"}
ADMIN = {"role": "admin"}
TYPED = (F.text, ~F.text.startswith("/"))

router = Router(name="analytics.reports")

BUILDERS = {
    build.Report.funnel: build.funnel,
    build.Report.revenue: build.revenue,
    build.Report.activity: build.activity,
    build.Report.sources: build.sources,
    build.Report.satisfaction: build.satisfaction_report,
}


class Level(StatesGroup):
    value = State()


def parsed(data: ReportCb) -> tuple[build.Report, Period] | None:
    try:
        return build.Report(data.report), Period(data.period)
    except ValueError:
        return None


async def report_of(ctx: Ctx, report: build.Report, period: Period):
    settings = ctx.settings
    req = build.Request(
        ctx.user,
        period,
        ctx.now(),
        ctx.tz,
        settings.default_timezone,
        settings.default_currency,
        settings.deal_stages,
    )
    return req, await BUILDERS[report](ctx.session, req)


async def send_report(message: Message, ctx: Ctx, report: build.Report, period: Period) -> None:
    """The report's text and chart: the photo with the text as its caption when it fits, else the text
    then the photo with the report's title."""
    req, data = await report_of(ctx, report, period)
    text, chart, _table = views.render(report, data, ctx.locale)
    png = await asyncio.to_thread(charts.render, chart)
    photo = BufferedInputFile(png, filename=f"{views.file_stem(report, req.span)}.png")
    markup = views.report_keyboard(report, period, sees_everything(ctx.user))
    if visible_length(text) <= views.CAPTION_LIMIT:
        await message.answer_photo(photo, caption=text, reply_markup=markup)
        return
    for part in split_message(text):
        await message.answer(part)
    title = views.caption(str(views.REPORT_NAMES[report]), req.span, ctx.locale)
    await message.answer_photo(photo, caption=title, reply_markup=markup)


def write_table(directory: str, stem: str, fmt: Format, columns: list[Column], rows: list[list], tz) -> bytes:
    with TableWriter(Path(directory), stem, fmt, columns, tz=tz) as writer:
        writer.write_all(rows)
        [part] = writer.close()  # a report's table is small: one part
    return part.read_bytes()


@router.message(Command("reports"), flags=STAFF)
async def reports_command(message: Message, ctx: Ctx) -> None:
    await message.answer(views.menu_text(sees_everything(ctx.user)), reply_markup=views.menu_keyboard())


@router.callback_query(ReportCb.filter(F.action == ReportAction.menu), flags=STAFF)
async def menu_button(query: CallbackQuery, ctx: Ctx) -> None:
    if isinstance(query.message, Message) and query.message.photo:
        await query.message.answer(
            views.menu_text(sees_everything(ctx.user)), reply_markup=views.menu_keyboard()
        )
    else:
        await edit_or_send(query, views.menu_text(sees_everything(ctx.user)), views.menu_keyboard())
    await query.answer()


@router.callback_query(ReportCb.filter(F.action == ReportAction.show), flags=STAFF)
async def show_button(query: CallbackQuery, callback_data: ReportCb, ctx: Ctx) -> None:
    chosen = parsed(callback_data)
    if chosen is None or not isinstance(query.message, Message):
        await query.answer(views.invalid_button(), show_alert=True)
        return
    await send_report(query.message, ctx, *chosen)
    await query.answer()


@router.callback_query(ReportCb.filter(F.action == ReportAction.export), flags=STAFF)
async def export_button(query: CallbackQuery, callback_data: ReportCb, ctx: Ctx) -> None:
    chosen = parsed(callback_data)
    if chosen is None or callback_data.fmt not in set(Format) or not isinstance(query.message, Message):
        await query.answer(views.invalid_button(), show_alert=True)
        return
    report, period = chosen
    req, data = await report_of(ctx, report, period)
    _text, _chart, (columns, rows) = views.render(report, data, ctx.locale)
    stem, fmt = views.file_stem(report, req.span), Format(callback_data.fmt)
    with tempfile.TemporaryDirectory() as directory:
        content = await asyncio.to_thread(write_table, directory, stem, fmt, columns, rows, ctx.zone)
    document = BufferedInputFile(content, filename=f"{stem}.{fmt.value}")
    await query.message.answer_document(
        document, caption=views.caption(str(views.REPORT_NAMES[report]), req.span, ctx.locale)
    )
    await query.answer()


@router.callback_query(ReportCb.filter(F.action == ReportAction.level), flags=ADMIN)
async def level_button(query: CallbackQuery, callback_data: ReportCb, ctx: Ctx) -> None:
    period = callback_data.period if callback_data.period in set(Period) else Period.this_month
    await begin_dialog(ctx.state, Level.value, period=period)
    current = await satisfaction.competition_level(ctx.session)
    if isinstance(query.message, Message):
        await query.message.answer(views.level_prompt(current, ctx.locale))
    await query.answer()


@router.message(Level.value, *TYPED, flags=ADMIN)
async def level_typed(message: Message, ctx: Ctx) -> None:
    try:
        value = await satisfaction.set_competition_level(ctx.session, ctx.user, message.text, ctx.now())
    except DomainError as e:
        current = await satisfaction.competition_level(ctx.session)
        await message.answer(f"{views.error(e)}\n\n{views.level_prompt(current, ctx.locale)}")
        return
    period = Period((await ctx.state.get_data()).get("period") or Period.this_month)
    await end_dialog(ctx.state)
    await message.answer(views.level_saved(value, ctx.locale))
    await send_report(message, ctx, build.Report.satisfaction, period)


@router.message(Level.value, flags=ADMIN)
async def level_not_text(message: Message, ctx: Ctx) -> None:
    current = await satisfaction.competition_level(ctx.session)
    await message.answer(
        f"{views.error(DomainError('competition_empty'))}\n\n{views.level_prompt(current, ctx.locale)}"
    )
