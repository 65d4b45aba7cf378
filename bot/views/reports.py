"""/reports: the menu, each report's text, chart and table, and the period and export buttons."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from bot.callbacks import ReportAction, ReportCb
from bot.keyboards import label
from bot.text import h
from bot.views.charts import Chart, Series
from bot.views.deals import money, stage_name
from bot.views.segments import segment_label
from services.analytics import satisfaction as sat
from services.analytics.reports import build
from services.analytics.reports import daily as d
from services.analytics.reports.periods import Period, Span
from services.errors import DomainError
from services.export.files import Column, Format, Kind

CAPTION_LIMIT = 1024
TOP = 15  # managers listed in a message; the export has them all

REPORT_NAMES = {
    build.Report.funnel: __("📊 Sales funnel"),
    build.Report.revenue: __("💰 Revenue and customers"),
    build.Report.activity: __("👥 Manager activity"),
    build.Report.sources: __("🧭 Lead sources"),
    build.Report.satisfaction: __("🙂 Satisfaction and loyalty"),
}
PERIOD_NAMES = {
    Period.this_month: __("This month"),
    Period.last_month: __("Last month"),
    Period.days90: __("90 days"),
    Period.months12: __("12 months"),
}
SOURCE_NAMES = {
    d.MANUAL: __("Added by hand"),
    d.IMPORT: __("Import"),
    d.VCARD: __("vCard"),
    d.TELEGRAM: __("Telegram lead"),
    d.REFERRAL: __("Referral"),
    d.OTHER: __("Other"),
}
KIND_NAMES = {
    "call": __("calls"),
    "meeting": __("meetings"),
    "message": __("messages"),
    "email": __("emails"),
    "other": __("other"),
}
OUTCOME_NAMES = {
    "reached": __("reached"),
    "no_answer": __("no answer"),
    "agreed": __("agreed"),
    "declined": __("declined"),
    "other": __("other"),
}


def _n(value: int | float | Decimal, locale: str) -> str:
    return format_decimal(value, locale=locale)


def _pct(value: float | None, locale: str) -> str:
    return "—" if value is None else format_percent(value, format="#,##0.#%", locale=locale)


def _month(value: date, locale: str) -> str:
    return format_date(value, "LLL y", locale=locale)


def _day(value: date, locale: str) -> str:
    return format_date(value, "d MMM", locale=locale)


def span_text(s: Span, locale: str) -> str:
    return "{name}: {first} – {last}".format(
        name=PERIOD_NAMES[s.period],
        first=format_date(s.first, "d MMM y", locale=locale),
        last=format_date(s.last, "d MMM y", locale=locale),
    )


def menu_text(admin: bool) -> str:
    head = _("📈 <b>Reports</b>") + "\n"
    if admin:
        return head + _("Pick a report: everyone's figures, with a line per manager.")
    return head + _("Pick a report: your own figures.")


def menu_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for report, name in REPORT_NAMES.items():
        kb.button(
            text=str(name),
            callback_data=ReportCb(action=ReportAction.show, report=report, period=Period.this_month),
        )
    kb.adjust(1)
    return kb.as_markup()


def report_keyboard(report: build.Report, period: Period, admin: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for p, name in PERIOD_NAMES.items():
        text = ("• " if p is period else "") + str(name)
        kb.button(text=text, callback_data=ReportCb(action=ReportAction.show, report=report, period=p))
    for fmt, text in ((Format.CSV, _("⬇️ CSV")), (Format.XLSX, _("⬇️ Excel"))):
        kb.button(
            text=text,
            callback_data=ReportCb(action=ReportAction.export, report=report, period=period, fmt=fmt),
        )
    sizes = [4, 2]
    if admin and report is build.Report.satisfaction:
        kb.button(
            text=_("⚙️ Competition level r"), callback_data=ReportCb(action=ReportAction.level, period=period)
        )
        sizes.append(1)
    kb.button(text=_("« Reports"), callback_data=ReportCb(action=ReportAction.menu))
    kb.adjust(*sizes, 1)
    return kb.as_markup()


def invalid_button() -> str:
    return _("This button is no longer valid. Send /reports to begin again.")


def error(e: DomainError) -> str:
    texts = {
        "competition_empty": _("Send a number from 0 to 1, for example 0.5."),
        "competition_not_number": _("That isn't a number. Send a number from 0 to 1, for example 0.5."),
        "competition_range": _("The competition level is from 0 to 1 (for example 0.4)."),
        "competition_precision": _("Two decimal places at most, for example 0.35."),
    }
    return texts.get(e.code, _("Something is wrong with that value."))


def level_prompt(current: Decimal, locale: str) -> str:
    return _(
        "⚙️ <b>Competition level r</b> (now {r})\n"
        "How strong the competition in your market is, from 0 (none) to 1 (very strong). The loyalty "
        "index is L = 1 − r·(1 − S).\nSend the new value, e.g. 0.4, or /cancel."
    ).format(r=format_decimal(current, format="0.0#", locale=locale))


def level_saved(value: Decimal, locale: str) -> str:
    return _("✅ Saved: r = {r}.").format(r=format_decimal(value, format="0.0#", locale=locale))


def caption(title: str, s: Span, locale: str) -> str:
    return f"<b>{h(title)}</b>\n{h(span_text(s, locale))}"


# --- the sales funnel ---


def funnel_text(f: build.Funnel, locale: str) -> str:
    lines = [
        caption(str(REPORT_NAMES[build.Report.funnel]), f.span, locale),
        _("Deals that entered each stage:"),
    ]
    conversions = {b: c for _a, b, c in f.conversions()}
    for stage, n in f.stages:
        conv = conversions.get(stage)
        tail = (
            _(" ({share} of the previous stage)").format(share=_pct(conv, locale)) if conv is not None else ""
        )
        lines.append(f"• {h(stage_name(stage))}: {_n(n, locale)}{tail}")
    lines.append(
        _("Win rate: {rate} (won {won}, lost {lost})").format(
            rate=_pct(f.win_rate, locale), won=_n(f.won, locale), lost=_n(f.lost, locale)
        )
    )
    if f.avg_days_to_won is not None:
        days = format_decimal(round(f.avg_days_to_won, 1), format="0.#", locale=locale)
        lines.append(_("From creation to won: {days} days on average").format(days=days))
    if f.won_sums:
        lines.append(
            _("Won: {sums}").format(sums=", ".join(money(v, c, locale) for c, v in f.won_sums.items()))
        )
    if f.lost_reasons:
        lines.append(_("Why deals were lost:"))
        unknown = _("no reason")
        lines += [
            f"  {i}. {h(r or unknown)} — {_n(n, locale)}" for i, (r, n) in enumerate(f.lost_reasons[:5], 1)
        ]
    if f.managers:
        lines.append(_("By manager (entered / won / lost):"))
        lines += [
            f"• {h(name)}: {_n(e, locale)} / {_n(w, locale)} / {_n(lo, locale)}"
            for _m, name, e, w, lo in f.managers[:TOP]
        ]
    return "\n".join(lines)


def funnel_chart(f: build.Funnel) -> Chart:
    return Chart(
        "hbars",
        _("Deals that entered each stage"),
        tuple(stage_name(s) for s, _n in f.stages),
        (Series(_("Deals"), tuple(float(n) for _s, n in f.stages)),),
        ylabel=_("Deals"),
        empty=_("No deals in this period"),
    )


def funnel_table(f: build.Funnel) -> tuple[list[Column], list[list]]:
    columns = [
        Column("section", _("Section")),
        Column("item", _("Item"), width=30),
        Column("count", _("Count"), Kind.NUMBER),
        Column("share", _("Share"), Kind.NUMBER),
        Column("amount", _("Amount"), Kind.NUMBER),
        Column("currency", _("Currency")),
    ]
    conversions = {b: c for _a, b, c in f.conversions()}
    rows: list[list] = [["stage", s, n, _round(conversions.get(s)), None, None] for s, n in f.stages]
    rows.append(["win_rate", "", f.won + f.lost, _round(f.win_rate), None, None])
    rows.append(["avg_days_to_won", "", f.won, None, _round(f.avg_days_to_won, 2), None])
    rows += [["won", c, None, None, v, c] for c, v in f.won_sums.items()]
    rows += [["lost_reason", r, n, None, None, None] for r, n in f.lost_reasons]
    rows += [
        ["manager", name, e, _round(w / (w + lo) if w + lo else None), w, None]
        for _m, name, e, w, lo in f.managers
    ]
    return columns, rows


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


# --- revenue ---


def revenue_text(r: build.Revenue, locale: str) -> str:
    t = r.total
    lines = [
        caption(str(REPORT_NAMES[build.Report.revenue]), r.span, locale),
        _("Revenue: {sum} ({n} purchases)").format(
            sum=money(t.revenue, r.currency, locale), n=_n(t.count, locale)
        ),
        _("• bonus program purchases: {sum} ({n})").format(
            sum=money(t.purchases_sum, r.currency, locale), n=_n(t.purchases, locale)
        ),
        _("• won deals: {sum} ({n})").format(
            sum=money(t.deals_sum, r.currency, locale), n=_n(t.deals, locale)
        ),
        _("New customers (first purchase): {n}").format(n=_n(t.new_customers, locale)),
        _("Repeat purchases: {rate} of purchases were by customers who had bought before").format(
            rate=_pct(r.repeat_rate, locale)
        ),
    ]
    if len(r.months) > 1:
        lines.append(_("By month:"))
        lines += [
            f"• {_month(m.month, locale)}: {money(m.revenue, r.currency, locale)}, "
            + _("new {n}").format(n=_n(m.new_customers, locale))
            for m in r.months
        ]
    if r.managers:
        lines.append(_("By manager (revenue, purchases, new customers):"))
        lines += [
            f"• {h(name)}: {money(v, r.currency, locale)}, {_n(n, locale)}, {_n(new, locale)}"
            for _m, name, v, n, new in r.managers[:TOP]
        ]
    return "\n".join(lines)


def revenue_chart(r: build.Revenue, locale: str) -> Chart:
    return Chart(
        "stacked",
        _("Revenue by month, {currency}").format(currency=r.currency),
        tuple(_month(m.month, locale) for m in r.months),
        (
            Series(_("Purchases"), tuple(float(m.purchases_sum) for m in r.months)),
            Series(_("Won deals"), tuple(float(m.deals_sum) for m in r.months)),
        ),
        ylabel=r.currency,
        notes=tuple(_("new: {n}").format(n=m.new_customers) for m in r.months),
        empty=_("No purchases in this period"),
    )


def revenue_table(r: build.Revenue) -> tuple[list[Column], list[list]]:
    columns = [
        Column("month", _("Month"), Kind.DATE),
        Column("manager", _("Manager"), width=24),
        Column("purchases", _("Purchases"), Kind.NUMBER),
        Column("purchases_sum", _("Purchases, sum"), Kind.NUMBER),
        Column("deals", _("Won deals"), Kind.NUMBER),
        Column("deals_sum", _("Won deals, sum"), Kind.NUMBER),
        Column("new_customers", _("New customers"), Kind.NUMBER),
        Column("currency", _("Currency")),
    ]
    rows = [
        [m.month, "", m.purchases, m.purchases_sum, m.deals, m.deals_sum, m.new_customers, r.currency]
        for m in r.months
    ]
    rows += [[r.span.first, name, n, v, None, None, new, r.currency] for _m, name, v, n, new in r.managers]
    return columns, rows


# --- manager activity ---


def _activity_line(name: str, a: build.Activity, locale: str) -> str:
    return _(
        "• {name}: contacts {contacts}, reminders on time {on_time} / late {late} / overdue {overdue}, "
        "deals moved {moved} / won {won}, CSAT {csat}"
    ).format(
        name=h(name),
        contacts=_n(a.contacts, locale),
        on_time=_n(a.on_time, locale),
        late=_n(a.late, locale),
        overdue=_n(a.overdue, locale),
        moved=_n(a.moved, locale),
        won=_n(a.won, locale),
        csat=_index(a.csat, locale),
    )


def _index(i: sat.Index, locale: str) -> str:
    if not i.n:
        return "—"
    text = _("{share} (n={n})").format(share=_pct(i.share, locale), n=_n(i.n, locale))
    return text + (" ⚠️" if not i.trusted else "")


def activity_text(a: build.ActivityReport, locale: str) -> str:
    t = a.total
    kinds = ", ".join(
        f"{KIND_NAMES.get(k, k)} {_n(n, locale)}" for k, n in sorted(t.kinds.items(), key=lambda kv: -kv[1])
    )
    outcomes = ", ".join(
        f"{OUTCOME_NAMES.get(k, k)} {_n(n, locale)}"
        for k, n in sorted(t.outcomes.items(), key=lambda kv: -kv[1])
    )
    lines = [
        caption(str(REPORT_NAMES[build.Report.activity]), a.span, locale),
        _("Contacts logged: {n}").format(n=_n(t.contacts, locale)) + (f" ({kinds})" if kinds else ""),
    ]
    if outcomes:
        lines.append(_("Outcomes: {outcomes}").format(outcomes=outcomes))
    lines.append(
        _("Reminders done on time: {on_time}, late: {late}; overdue now: {overdue}").format(
            on_time=_n(t.on_time, locale), late=_n(t.late, locale), overdue=_n(t.overdue, locale)
        )
    )
    lines.append(
        _("Deals moved: {moved}, won: {won}; CSAT: {csat}").format(
            moved=_n(t.moved, locale), won=_n(t.won, locale), csat=_index(t.csat, locale)
        )
    )
    if len(a.managers) > 1:
        lines.append(_("By manager:"))
        lines += [_activity_line(name, act, locale) for _m, name, act in a.managers[:TOP]]
    lines.append(_("Per week: in the chart and the export."))
    return "\n".join(lines)


def _weekly(a: build.ActivityReport, attr: str) -> tuple[float, ...]:
    """Everyone's (or the manager's own) figure per week."""
    per_week: dict = defaultdict(float)
    for (_m, week), act in a.weekly.items():
        per_week[week] += getattr(act, attr)
    return tuple(float(per_week.get(week, 0)) for week in a.weeks)


def activity_chart(a: build.ActivityReport, locale: str) -> Chart:
    return Chart(
        "bars",
        _("Activity per week"),
        tuple(_day(w, locale) for w in a.weeks),
        (
            Series(_("Contacts"), _weekly(a, "contacts")),
            Series(
                _("Reminders done"),
                tuple(x + y for x, y in zip(_weekly(a, "on_time"), _weekly(a, "late"), strict=True)),
            ),
            Series(_("Deals moved"), _weekly(a, "moved")),
        ),
        empty=_("No activity in this period"),
    )


def activity_table(a: build.ActivityReport) -> tuple[list[Column], list[list]]:
    names = {m: name for m, name, _a in a.managers}
    columns = [Column("manager", _("Manager"), width=24), Column("week", _("Week"), Kind.DATE)] + [
        Column(key, text, Kind.NUMBER)
        for key, text in (
            ("contacts", _("Contacts")),
            ("calls", _("Calls")),
            ("meetings", _("Meetings")),
            ("messages", _("Messages")),
            ("emails", _("Emails")),
            ("reached", _("Reached")),
            ("no_answer", _("No answer")),
            ("agreed", _("Agreed")),
            ("declined", _("Declined")),
            ("reminders_on_time", _("Reminders on time")),
            ("reminders_late", _("Reminders late")),
            ("deals_moved", _("Deals moved")),
            ("deals_won", _("Deals won")),
            ("csat_answers", _("CSAT answers")),
            ("csat_share", _("CSAT 4–5 share")),
        )
    ]
    rows = []
    for (m, week), act in sorted(a.weekly.items(), key=lambda kv: (names.get(kv[0][0], ""), kv[0][1])):
        rows.append(
            [
                names.get(m, str(m)),
                week,
                act.contacts,
                act.kinds.get("call", 0),
                act.kinds.get("meeting", 0),
                act.kinds.get("message", 0),
                act.kinds.get("email", 0),
                act.outcomes.get("reached", 0),
                act.outcomes.get("no_answer", 0),
                act.outcomes.get("agreed", 0),
                act.outcomes.get("declined", 0),
                act.on_time,
                act.late,
                act.moved,
                act.won,
                act.csat.n,
                _round(act.csat.share),
            ]
        )
    return columns, rows


# --- lead sources ---


def sources_text(s: build.Sources, locale: str) -> str:
    lines = [
        caption(str(REPORT_NAMES[build.Report.sources]), s.span, locale),
        _("New clients: {n}").format(n=_n(s.total, locale)),
    ]
    for key, n in s.counts.items():
        share = n / s.total if s.total else None
        lines.append(f"• {SOURCE_NAMES.get(key, key)}: {_n(n, locale)} ({_pct(share, locale)})")
    if len(s.managers) > 1:
        lines.append(_("By manager:"))
        for _m, name, counts in s.managers[:TOP]:
            parts = ", ".join(f"{SOURCE_NAMES.get(k, k)} {_n(n, locale)}" for k, n in counts.items() if n)
            lines.append(f"• {h(name)}: {parts}")
    return "\n".join(lines)


def sources_chart(s: build.Sources) -> Chart:
    return Chart(
        "hbars",
        _("Where new clients came from"),
        tuple(str(SOURCE_NAMES.get(k, k)) for k in s.counts),
        (Series(_("Clients"), tuple(float(n) for n in s.counts.values())),),
        ylabel=_("Clients"),
        empty=_("No new clients in this period"),
    )


def sources_table(s: build.Sources) -> tuple[list[Column], list[list]]:
    columns = [
        Column("manager", _("Manager"), width=24),
        Column("source", _("Source")),
        Column("clients", _("Clients"), Kind.NUMBER),
    ]
    rows = [["", k, n] for k, n in s.counts.items()]
    rows += [[name, k, n] for _m, name, counts in s.managers for k, n in counts.items()]
    return columns, rows


# --- satisfaction ---


def satisfaction_text(r: build.SatisfactionReport, locale: str) -> str:
    i = r.index
    lines = [caption(str(REPORT_NAMES[build.Report.satisfaction]), r.span, locale)]
    lines.append(_("Satisfaction index S: {s}").format(s=_index(i.company, locale)))
    r_text = format_decimal(i.r, format="0.0#", locale=locale)
    lines.append(
        _("Loyalty index L = 1 − r·(1 − S): {l} (r = {r})").format(l=_pct(i.loyalty, locale), r=r_text)
    )
    if i.company.n and not i.company.trusted:
        lines.append(_("⚠️ fewer than {n} answers: too few to trust").format(n=sat.MIN_TRUSTED))
    p = r.period
    if p.csat.n:
        avg = format_decimal(p.csat_average or 0, format="0.0", locale=locale)
        lines.append(
            _("CSAT: {share} rated 4–5, average {average}; answers: {n}").format(
                share=_pct(p.csat.share, locale), average=avg, n=_n(p.csat.n, locale)
            )
        )
    if p.nps_n:
        nps = format_decimal(round(p.nps or 0), format="+#,##0;-#,##0", locale=locale)
        lines.append(_("NPS: {nps}; answers: {n}").format(nps=nps, n=_n(p.nps_n, locale)))
    if len(i.managers) > 1:
        lines.append(_("S by manager:"))
        ranked = sorted(i.managers.items(), key=lambda kv: (-(kv[1].share or 0), r.names.get(kv[0], "")))
        lines += [f"• {h(r.names.get(m, str(m)))}: {_index(x, locale)}" for m, x in ranked[:TOP]]
    if i.segments:
        lines.append(_("S by RFM segment:"))
        lines += [
            f"• {h(segment_label(k))}: {_index(x, locale)}"
            for k, x in sorted(i.segments.items(), key=lambda kv: -kv[1].n)
        ]
    lines.append(_("⚠️ marks fewer than {n} answers.").format(n=sat.MIN_TRUSTED))
    return "\n".join(lines)


def satisfaction_chart(r: build.SatisfactionReport, locale: str) -> Chart:
    return Chart(
        "lines",
        _("CSAT and NPS by month"),
        tuple(_month(t.month, locale) for t in r.trend),
        (
            Series(_("CSAT: share of 4–5"), tuple(t.csat.share or 0.0 for t in r.trend)),
            Series(_("NPS / 100"), tuple((t.nps or 0.0) / 100 for t in r.trend)),
        ),
        percent=True,
        notes=tuple(f"n={t.csat.n}" for t in r.trend),
        empty=_("No survey answers in 12 months"),
    )


def satisfaction_table(r: build.SatisfactionReport) -> tuple[list[Column], list[list]]:
    columns = [
        Column("section", _("Section")),
        Column("item", _("Item"), width=24),
        Column("answers", _("Answers"), Kind.NUMBER),
        Column("value", _("Value"), Kind.NUMBER),
        Column("trusted", _("Enough answers")),
    ]
    i = r.index
    rows: list[list] = [
        ["satisfaction_index", "", i.company.n, _round(i.company.share), i.company.trusted],
        ["loyalty_index", f"r={i.r}", i.company.n, _round(i.loyalty), i.company.trusted],
    ]
    rows += [
        ["manager", r.names.get(m, str(m)), x.n, _round(x.share), x.trusted] for m, x in i.managers.items()
    ]
    rows += [["segment", k, x.n, _round(x.share), x.trusted] for k, x in i.segments.items()]
    for t in r.trend:
        rows.append(["csat_month", t.month.isoformat(), t.csat.n, _round(t.csat.share), t.csat.trusted])
        rows.append(["nps_month", t.month.isoformat(), t.nps_n, _round(t.nps, 2), t.nps_n >= sat.MIN_TRUSTED])
    return columns, rows


def render(report: build.Report, data, locale: str) -> tuple[str, Chart, tuple[list[Column], list[list]]]:
    """A report's text, chart and table."""
    if report is build.Report.funnel:
        return funnel_text(data, locale), funnel_chart(data), funnel_table(data)
    if report is build.Report.revenue:
        return revenue_text(data, locale), revenue_chart(data, locale), revenue_table(data)
    if report is build.Report.activity:
        return activity_text(data, locale), activity_chart(data, locale), activity_table(data)
    if report is build.Report.sources:
        return sources_text(data, locale), sources_chart(data), sources_table(data)
    return satisfaction_text(data, locale), satisfaction_chart(data, locale), satisfaction_table(data)


def file_stem(report: build.Report, s: Span) -> str:
    return f"report-{report.value}-{s.first.isoformat()}-{s.last.isoformat()}"


def label_of(report: build.Report) -> str:
    return label(str(REPORT_NAMES[report]))
