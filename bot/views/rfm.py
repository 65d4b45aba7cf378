"""/rfm: the overview (when the last run was, the distribution, ABC and the Pareto check, the movement
since the run before), a segment's clients, and the admin's "Recompute now"."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import RfmAction, RfmCb
from bot.formatting import local_dt
from bot.keyboards import label
from bot.text import h
from bot.views.clients import open_button
from bot.views.segments import segment_label
from models.analytics import RfmRun
from services.analytics.rfm import ABC, MOVES_SHOWN, Distribution, SegmentPage
from services.analytics.segments import ORDER, Segment


def _pct(share: float) -> str:
    return f"{share * 100:.0f} %"


def no_run_text(admin: bool) -> str:
    text = _("📊 <b>RFM segments</b>\n\nNo run yet: the segments are computed every night.")
    if admin:
        text += "\n" + _("Press «Recompute now» to compute them at once.")
    return text


def overview_text(
    run: RfmRun,
    dist: Distribution,
    moves: list[tuple[str, str, int]],
    has_previous: bool,
    own_only: bool,
    tz: str,
    locale: str,
) -> str:
    when = local_dt(run.finished_at or run.started_at, tz, locale)
    title = _("📊 <b>RFM segments</b> (your clients)") if own_only else _("📊 <b>RFM segments</b>")
    lines = [
        title,
        _("Last run: {when} · purchases of the 365 days before {date} in {currency}").format(
            when=when, date=run.as_of.isoformat(), currency=h(run.currency)
        ),
        _("Clients: {n}, with purchases: {p}").format(n=dist.clients, p=dist.population),
        "",
    ]
    for seg in ORDER:
        n = dist.segments.get(seg.value, 0)
        if n or seg is Segment.NO_RECENT:
            lines.append(f"• {segment_label(seg.value)}: <b>{n}</b>")
    lines.append("")
    abc = " · ".join(f"{c}: <b>{dist.abc.get(c, 0)}</b>" for c in ABC)
    lines.append(_("ABC classes: {abc}").format(abc=abc))
    share = dist.top20_share
    if share is not None:
        lines.append(
            _("Pareto check: the top {top} of clients bring {share} of revenue").format(
                top=_pct(0.2), share=_pct(share)
            )
        )
    lines.append("")
    if not has_previous:
        lines.append(_("Movement: shown from the second run on."))
    elif not moves:
        lines.append(_("Since the last run: no client changed segment."))
    else:
        shown = ", ".join(
            _("{n} {was} → {now}").format(n=n, was=segment_label(a), now=segment_label(b))
            for a, b, n in moves[:MOVES_SHOWN]
        )
        more = len(moves) - MOVES_SHOWN
        lines.append(
            _("Since the last run: {moves}").format(moves=shown) + (f" (+{more})" if more > 0 else "")
        )
    return "\n".join(lines)


def overview_keyboard(run: RfmRun | None, dist: Distribution | None, admin: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if run is not None and dist is not None:
        buttons = [
            InlineKeyboardButton(
                text=label(f"{segment_label(seg.value)} ({dist.segments.get(seg.value, 0)})", 30),
                callback_data=RfmCb(action=RfmAction.seg, arg=i, run=run.id).pack(),
            )
            for i, seg in enumerate(ORDER)
            if dist.segments.get(seg.value, 0)
        ]
        for i in range(0, len(buttons), 2):
            kb.row(*buttons[i : i + 2])
    if admin:
        kb.row(
            InlineKeyboardButton(text=_("🔄 Recompute now"), callback_data=RfmCb(action=RfmAction.run).pack())
        )
    return kb.as_markup()


def segment_text(seg: Segment, page: SegmentPage) -> str:
    title = _("📊 <b>{segment}</b>").format(segment=segment_label(seg.value))
    if not page.items:
        return title + "\n" + _("No clients here.")
    return title + "\n" + _("Page {n}. Open a client:").format(n=page.page + 1)


def segment_keyboard(seg_index: int, run_id: int, page: SegmentPage) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for row in page.items:
        kb.row(open_button(row))
    nav = []
    if page.page > 0:
        nav.append(
            InlineKeyboardButton(
                text=_("◀ Previous"),
                callback_data=RfmCb(
                    action=RfmAction.seg, arg=seg_index, page=page.page - 1, run=run_id
                ).pack(),
            )
        )
    if page.has_next:
        nav.append(
            InlineKeyboardButton(
                text=_("Next ▶"),
                callback_data=RfmCb(
                    action=RfmAction.seg, arg=seg_index, page=page.page + 1, run=run_id
                ).pack(),
            )
        )
    if nav:
        kb.row(*nav)
    kb.row(InlineKeyboardButton(text=_("« Segments"), callback_data=RfmCb(action=RfmAction.show).pack()))
    return kb.as_markup()


def run_started() -> str:
    return _("🔄 Recomputing RFM and ABC. I'll send a message when it's done.")


def run_already() -> str:
    return _("A recomputation is already under way. I'll send a message when it's done.")


def stale_button() -> str:
    return _("This button is no longer valid. Send /rfm to begin again.")
