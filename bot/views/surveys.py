"""Surveys: the customer's questions and answers, the owner's low-score notices, /surveys figures and
the admins' settings. Numbers, dates and durations are formatted with Babel in the reader's language;
names people typed are escaped here; button labels are plain text."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_date, format_timedelta
from babel.numbers import format_decimal, format_percent

from bot.callbacks import CardAction, ChoiceCb, ClientCb, SurveyAction, SurveyCb
from bot.keyboards import label
from bot.messages import error_text
from bot.text import h
from bot.views import Notice, Rendered
from models.clients import Client
from models.surveys import Survey, SurveyTrigger
from models.users import User
from services.errors import DomainError
from services.surveys.figures import Figures, Stats
from services.surveys.rules import COMMENT_LIMIT, CSAT_SCORES, NPS_SCORES, PERIODS
from services.surveys.triggers import TriggerSetting

DELAY_STEP = "sv.delay"

QUESTIONS = {
    SurveyTrigger.contact: __("🙏 How did our recent conversation go?"),
    SurveyTrigger.purchase: __("🙏 How do you like your recent purchase?"),
    SurveyTrigger.deal_won: __("🙏 How satisfied are you with how we handled your order?"),
}
TRIGGER_NAMES = {
    SurveyTrigger.contact: __("After a logged contact"),
    SurveyTrigger.purchase: __("After a purchase"),
    SurveyTrigger.deal_won: __("After a won deal"),
}
TRIGGER_SHORT = {
    SurveyTrigger.contact: __("contact"),
    SurveyTrigger.purchase: __("purchase"),
    SurveyTrigger.deal_won: __("won deal"),
}


def error(e: DomainError) -> str:
    texts = {
        "survey_not_found": _("This survey isn't available."),
        "survey_expired": _("⌛ This survey has expired: answers are taken for 7 days after it was sent."),
        "survey_bad_score": _("There is no such score."),
        "survey_answered": _("Your answer is already saved. Thank you!"),
        "survey_order": _("Please answer the first question first."),
        "survey_delay_invalid": _(
            "I couldn't read that delay. Write a number and a unit, for example: 2 h, 90 min, 1 day, 1d 12h."
        ),
        "survey_delay_range": _("The delay can be from 0 minutes to 30 days."),
        "empty": _("That's empty. Please write some text."),
        "too_long": _("That's too long: {length} characters, at most {limit}.").format(
            length=e.params.get("length", "?"), limit=e.params.get("limit", "?")
        ),
    }
    if e.code == "survey_setting_same":
        return _("It is already on.") if e.params.get("enabled") else _("It is already off.")
    return texts.get(e.code) or error_text(e)


# --- the customer's survey ---


def _score_row(question: str, survey_id: int, scores: range) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(
            text=str(score),
            callback_data=SurveyCb(action=question, survey_id=survey_id, score=score).pack(),
        )
        for score in scores
    ]


def csat_question(survey: Survey) -> tuple[str, InlineKeyboardMarkup]:
    text = "\n".join(
        [
            str(QUESTIONS.get(survey.trigger, QUESTIONS[SurveyTrigger.contact])),
            _("Please rate us from 1 (very bad) to 5 (excellent):"),
        ]
    )
    return text, InlineKeyboardMarkup(inline_keyboard=[_score_row("csat", survey.id, CSAT_SCORES)])


def nps_question(survey: Survey) -> tuple[str, InlineKeyboardMarkup]:
    text = "\n".join(
        [
            _("Your rating: {score} of 5. Thank you!").format(score=survey.csat),
            "",
            _(
                "How likely are you to recommend us to a friend or colleague? "
                "0 — not at all, 10 — definitely:"
            ),
        ]
    )
    row = _score_row("nps", survey.id, NPS_SCORES)
    return text, InlineKeyboardMarkup(inline_keyboard=[row[:6], row[6:]])


def comment_prompt(survey: Survey) -> tuple[str, InlineKeyboardMarkup]:
    text = "\n".join(
        [
            _("Your rating: {score} of 5. Thank you!").format(score=survey.csat),
            _("Would you recommend us: {score} of 10.").format(score=survey.nps),
            "",
            _(
                "Anything you would like to add? Write it in one message (up to {limit} characters), "
                "or press Skip."
            ).format(limit=COMMENT_LIMIT),
        ]
    )
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Skip"), callback_data=SurveyCb(action=SurveyAction.skip, survey_id=survey.id))
    return text, kb.as_markup()


def step_of(survey: Survey) -> tuple[str, InlineKeyboardMarkup | None]:
    """The survey as it stands: the question still open, or the thanks."""
    if survey.csat is None:
        return csat_question(survey)
    if survey.nps is None:
        return nps_question(survey)
    if survey.completed_at is None:
        return comment_prompt(survey)
    return thanks(survey), None


def thanks(survey: Survey) -> str:
    lines = [_("✅ Thank you for your answers! They help us get better.")]
    if survey.csat is not None:
        lines.append(_("Your rating: {score} of 5.").format(score=survey.csat))
    if survey.nps is not None:
        lines.append(_("Would you recommend us: {score} of 10.").format(score=survey.nps))
    if survey.comment:
        lines.append(_("Your comment: {text}").format(text=h(survey.comment)))
    return "\n".join(lines)


def expired_text() -> str:
    return _("⌛ This survey has expired: answers are taken for 7 days after it was sent.")


def comment_not_text() -> str:
    return _("Please write your comment as text, or press Skip.")


# --- the owner: a low score at once, then the comment if one comes ---


def _scores(csat: Any, nps: Any) -> str:
    parts = []
    if csat is not None:
        parts.append(_("CSAT {score} of 5").format(score=csat))
    if nps is not None:
        parts.append(_("NPS {score} of 10").format(score=nps))
    return ", ".join(parts)


def _card_button(client_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("👤 Open the card"), callback_data=ClientCb(action=CardAction.open, client_id=client_id))
    return kb.as_markup()


def _survey_low(p: dict[str, Any]) -> Rendered:
    text = _(
        "⚠️ <b>{name}</b> gave a low score in a satisfaction survey: {scores}.\n"
        "A follow-up reminder was added for you."
    ).format(name=h(p["name"]), scores=_scores(p.get("csat"), p.get("nps")))
    return text, _card_button(int(p["client_id"]))


def _survey_comment(p: dict[str, Any]) -> Rendered:
    text = _("💬 <b>{name}</b> added a comment to the survey ({scores}):\n{comment}").format(
        name=h(p["name"]), scores=_scores(p.get("csat"), p.get("nps")), comment=h(p["comment"])
    )
    return text, _card_button(int(p["client_id"]))


# The notices drawn here, by name (bot/notices.py lists every module's).
NOTICES: dict[str, Notice] = {
    "survey_low": _survey_low,
    "survey_comment": _survey_comment,
}


def followup_text(client: Client, survey: Survey) -> str:
    """The follow-up reminder (stored text, in the owner's language; not HTML)."""
    return _("Call {name} back: low score in the survey ({scores}).").format(
        name=client.name, scores=_scores(survey.csat, survey.nps)
    )


# --- /surveys: the figures ---


def _percent(value: float, locale: str) -> str:
    return format_percent(value, locale=locale)


def _nps(value: float, locale: str) -> str:
    return format_decimal(round(value), format="+#,##0;-#,##0", locale=locale)


def figures_lines(f: Figures, locale: str) -> list[str]:
    if not f.sent:
        return [_("No surveys were sent.")]
    lines = []
    if f.csat_count:
        lines.append(
            _("CSAT: {share} satisfied (4–5), average {average} of 5; answers: {n}").format(
                share=_percent(f.csat_share or 0, locale),
                average=format_decimal(f.csat_average or 0, format="0.0", locale=locale),
                n=format_decimal(f.csat_count, locale=locale),
            )
        )
    else:
        lines.append(_("CSAT: no answers yet"))
    if f.nps_count:
        lines.append(
            _("NPS: {nps} (promoters {promoters}, detractors {detractors}); answers: {n}").format(
                nps=_nps(f.nps or 0, locale),
                promoters=_percent(f.promoters / f.nps_count, locale),
                detractors=_percent(f.detractors / f.nps_count, locale),
                n=format_decimal(f.nps_count, locale=locale),
            )
        )
    else:
        lines.append(_("NPS: no answers yet"))
    lines.append(
        _("Answered {answered} of {sent} sent: response rate {rate}").format(
            answered=format_decimal(f.answered, locale=locale),
            sent=format_decimal(f.sent, locale=locale),
            rate=_percent(f.response_rate or 0, locale),
        )
    )
    return lines


def stats_text(stats: Stats, viewer: User, tz: str, locale: str, *, everyone: bool) -> str:
    if everyone:
        title = _("📊 <b>Satisfaction</b>: everyone's clients")
    elif stats.manager is None or stats.manager.id == viewer.id:
        title = _("📊 <b>Satisfaction</b>: my clients")
    else:
        title = _("📊 <b>Satisfaction</b>: clients of {name}").format(name=h(stats.manager.display_name))
    lines = [title]
    zone = ZoneInfo(tz)
    for days in PERIODS:
        since = format_date(stats.since[days].astimezone(zone).date(), "d MMM y", locale=locale)
        lines += ["", _("<b>Last {days} days</b> (since {date})").format(days=days, date=since)]
        lines += figures_lines(stats.periods[days], locale)
    if everyone and stats.managers:
        lines += ["", _("Tap a manager to see their figures.")]
    return "\n".join(lines)


def stats_keyboard(stats: Stats, *, admin: bool, everyone: bool) -> InlineKeyboardMarkup | None:
    if not admin:
        return None
    kb = InlineKeyboardBuilder()
    if everyone:
        for manager_id, name, sent in stats.managers:
            kb.row(
                InlineKeyboardButton(
                    text=label(f"👤 {name} · {sent}"),
                    callback_data=SurveyCb(action=SurveyAction.stats, survey_id=0, arg=manager_id).pack(),
                )
            )
        if stats.pages > 1:
            nav = []
            if stats.page > 0:
                nav.append(("◀", stats.page - 1))
            nav.append((f"{stats.page + 1}/{stats.pages}", stats.page))
            if stats.page < stats.pages - 1:
                nav.append(("▶", stats.page + 1))
            kb.row(
                *(
                    InlineKeyboardButton(
                        text=text,
                        callback_data=SurveyCb(action=SurveyAction.stats, survey_id=0, page=p).pack(),
                    )
                    for text, p in nav
                )
            )
    else:
        kb.row(
            InlineKeyboardButton(
                text=_("« Everyone"), callback_data=SurveyCb(action=SurveyAction.stats, survey_id=0).pack()
            )
        )
    kb.row(
        InlineKeyboardButton(
            text=_("⚙️ Settings"), callback_data=SurveyCb(action=SurveyAction.settings, survey_id=0).pack()
        )
    )
    return kb.as_markup()


# --- settings (admins) ---


def duration(minutes: int, locale: str) -> str:
    """Exact, in words: "1 день 12 часов", "90 minutes" is "1 hour 30 minutes"."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [
        format_timedelta(delta, threshold=1, add_direction=False, locale=locale)
        for delta, n in (
            (timedelta(days=days), days),
            (timedelta(hours=hours), hours),
            (timedelta(minutes=mins), mins),
        )
        if n
    ]
    return " ".join(parts) or "0"


def when(minutes: int, locale: str) -> str:
    """ "in 2 hours", or "right away" for no delay."""
    if minutes <= 0:
        return _("right away")
    return _("in {delay}").format(delay=duration(minutes, locale))


def setting_line(rule: TriggerSetting, locale: str) -> str:
    name = str(TRIGGER_NAMES[rule.trigger])
    if rule.enabled:
        return _("✅ {trigger}: {when}").format(trigger=name, when=when(rule.delay_minutes, locale))
    return _("⛔ {trigger}: off (when on: {when})").format(
        trigger=name, when=when(rule.delay_minutes, locale)
    )


def settings_text(rules: dict[SurveyTrigger, TriggerSetting], locale: str) -> str:
    lines = [
        _("⚙️ <b>Survey settings</b>"),
        _(
            "A survey goes out this long after the event, between 10:00 and 20:00 in the customer's "
            "time zone, to customers linked to the bot who agreed to surveys, at most once in 14 days."
        ),
        "",
    ]
    lines += [setting_line(rule, locale) for rule in rules.values()]
    return "\n".join(lines)


def settings_keyboard(rules: dict[SurveyTrigger, TriggerSetting]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for rule in rules.values():
        short = str(TRIGGER_SHORT[rule.trigger])
        toggle = (_("⛔ Turn off: {trigger}"), "off") if rule.enabled else (_("✅ Turn on: {trigger}"), "on")
        kb.row(
            InlineKeyboardButton(
                text=label(toggle[0].format(trigger=short)),
                callback_data=SurveyCb(action=toggle[1], survey_id=0, trigger=rule.trigger.value).pack(),
            ),
            InlineKeyboardButton(
                text=label(_("⏱ Delay: {trigger}").format(trigger=short)),
                callback_data=SurveyCb(
                    action=SurveyAction.delay, survey_id=0, trigger=rule.trigger.value
                ).pack(),
            ),
        )
    kb.row(
        InlineKeyboardButton(
            text=_("« Figures"), callback_data=SurveyCb(action=SurveyAction.stats, survey_id=0).pack()
        )
    )
    return kb.as_markup()


def delay_prompt(rule: TriggerSetting, locale: str) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "⏱ <b>{trigger}</b>: the survey goes out {when}.\n"
        "New delay after the event? For example: 2 h, 90 min, 1 day, 1d 12h, 0 (at most 30 days)."
    ).format(trigger=str(TRIGGER_NAMES[rule.trigger]), when=when(rule.delay_minutes, locale))
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Cancel"), callback_data=ChoiceCb(step=DELAY_STEP, value="cancel"))
    return text, kb.as_markup()


def delay_saved(rule: TriggerSetting, locale: str) -> str:
    return _("✅ Saved: {trigger} — {when}.").format(
        trigger=str(TRIGGER_NAMES[rule.trigger]), when=when(rule.delay_minutes, locale)
    )
