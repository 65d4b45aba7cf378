"""Charts: a valid PNG of 1200 x 800 px, drawn with the object API, and labelled in the reader's
language (the Figure's text artists in Russian and in English; the two renderings differ)."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from matplotlib.text import Text

from bot.i18n import create_i18n
from bot.views import charts
from bot.views import reports as views
from services.analytics import satisfaction as sat
from services.analytics.reports import build
from services.analytics.reports.periods import Period, Span

PNG = b"\x89PNG\r\n\x1a\n"
SPAN = Span(Period.months12, date(2025, 4, 1), date(2026, 3, 10))


def size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG) and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def texts(chart: charts.Chart) -> set[str]:
    fig = charts.figure(chart)
    return {t.get_text() for t in fig.findobj(Text) if t.get_text()}


def revenue() -> build.Revenue:
    months = [build.Month(date(2026, m, 1), 3, Decimal(1000 * m), 1, Decimal(500), m) for m in (1, 2, 3)]
    return build.Revenue(SPAN, "RUB", months)


def satisfaction() -> build.SatisfactionReport:
    trend = [build.Trend(date(2026, m, 1), sat.Index(m, 2 * m), 8 * m, 4, 2, 1) for m in (1, 2, 3)]
    index = sat.Satisfaction(sat.Index(6, 12), Decimal("0.5"))
    return build.SatisfactionReport(SPAN, index, trend, {}, trend[-1])


def funnel() -> build.Funnel:
    stages = [("new", 10), ("qualification", 6), ("won", 3), ("lost", 2)]
    return build.Funnel(SPAN, stages, 3, 2, 4.0, {"RUB": Decimal(9000)}, [("Дорого", 2)])


def sources() -> build.Sources:
    return build.Sources(
        SPAN, {"manual": 3, "import": 5, "vcard": 1, "telegram": 2, "referral": 1, "other": 0}
    )


def activity() -> build.ActivityReport:
    week = date(2026, 3, 2)
    a = build.Activity()
    a.add("contacts", "call", 4)
    a.add("outcomes", "reached", 4)
    return build.ActivityReport(SPAN, [week], a, [(1, "Anna", a)], {(1, week): a})


CHARTS = {
    "funnel": lambda locale: views.funnel_chart(funnel()),
    "revenue": lambda locale: views.revenue_chart(revenue(), locale),
    "activity": lambda locale: views.activity_chart(activity(), locale),
    "sources": lambda locale: views.sources_chart(sources()),
    "satisfaction": lambda locale: views.satisfaction_chart(satisfaction(), locale),
}


def in_language(locale: str, make):
    i18n = create_i18n("ru")
    with i18n.context(), i18n.use_locale(locale):
        return make(locale)


@pytest.mark.parametrize("name", list(CHARTS))
def test_a_chart_is_a_png_of_1200_by_800(name):
    png = charts.render(in_language("ru", CHARTS[name]))
    assert size(png) == (charts.WIDTH, charts.HEIGHT) == (1200, 800)


def test_an_empty_chart_says_so():
    empty = in_language("en", lambda locale: views.revenue_chart(build.Revenue(SPAN, "RUB", []), locale))
    assert "No purchases in this period" in texts(empty)
    assert size(charts.render(empty)) == (1200, 800)


@pytest.mark.parametrize(
    ("name", "ru", "en"),
    [
        (
            "revenue",
            {"Выручка по месяцам, RUB", "Покупки", "Выигранные сделки", "янв. 2026"},
            {"Revenue by month, RUB", "Purchases", "Won deals", "Jan 2026"},
        ),
        (
            "funnel",
            {"Сделки, вошедшие в каждый этап", "квалификация"},
            {"Deals that entered each stage", "qualification"},
        ),
        (
            "sources",
            {"Откуда пришли новые клиенты", "Импорт", "По рекомендации"},
            {"Where new clients came from", "Import", "Referral"},
        ),
        ("activity", {"Активность по неделям", "Контакты"}, {"Activity per week", "Contacts"}),
        (
            "satisfaction",
            {"CSAT и NPS по месяцам", "CSAT: доля оценок 4–5"},
            {"CSAT and NPS by month", "CSAT: share of 4–5"},
        ),
    ],
)
def test_labels_are_in_the_readers_language(name, ru, en):
    ru_texts = texts(in_language("ru", CHARTS[name]))
    en_texts = texts(in_language("en", CHARTS[name]))
    assert ru <= ru_texts, ru_texts
    assert en <= en_texts, en_texts
    assert not (en - {"RUB"}) & ru_texts
    assert charts.render(in_language("ru", CHARTS[name])) != charts.render(in_language("en", CHARTS[name]))


def test_the_chart_module_never_uses_pyplot():
    import bot.views.charts as module

    source = open(module.__file__, encoding="utf-8").read()
    assert "pyplot" not in source.replace("never\npyplot", "").replace("never pyplot", "")
    assert datetime.now(UTC)  # the module imports without a display
