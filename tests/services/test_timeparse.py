"""The time parser: examples people type, and properties that hold for any moment and time zone."""

from __future__ import annotations

import time as timer
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.errors import DomainError
from services.timeparse import parse_date, parse_when, split_when

MSK = "Europe/Moscow"
# Tuesday 24 Nov 2026, 15:00 in Moscow
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("posix/", "right/")))
zones = st.sampled_from([*ZONES, "UTC", "Europe/Moscow", "Asia/Vladivostok", "America/New_York"])
moments = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def local(when: datetime, tz: str = MSK) -> str:
    return when.astimezone(ZoneInfo(tz)).strftime("%a %Y-%m-%d %H:%M")


def wall(d: date, t: time, tz: str) -> datetime:
    """What the parser promises for a local date and time (a gap moves forward, a fold takes the first)."""
    return datetime.combine(d, t).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("завтра в 10", "Wed 2026-11-25 10:00"),
        ("Завтра В 10", "Wed 2026-11-25 10:00"),
        ("через 2 часа", "Tue 2026-11-24 17:00"),
        ("в пятницу 15:00", "Fri 2026-11-27 15:00"),
        ("в пт в 15:00", "Fri 2026-11-27 15:00"),
        ("25.12 9:30", "Fri 2026-12-25 09:30"),
        ("tomorrow 10am", "Wed 2026-11-25 10:00"),
        ("tomorrow at 10", "Wed 2026-11-25 10:00"),
        ("in 3 days", "Fri 2026-11-27 09:00"),
        ("2026-12-25 14:00", "Fri 2026-12-25 14:00"),
        ("2026-12-25T14:00", "Fri 2026-12-25 14:00"),
        ("2026-12-25", "Fri 2026-12-25 09:00"),
        ("сегодня в 18:30", "Tue 2026-11-24 18:30"),
        ("послезавтра", "Thu 2026-11-26 09:00"),
        ("day after tomorrow", "Thu 2026-11-26 09:00"),
        ("через 15 минут", "Tue 2026-11-24 15:15"),
        ("через 15 мин", "Tue 2026-11-24 15:15"),
        ("через пятнадцать минут", "Tue 2026-11-24 15:15"),
        ("через полчаса", "Tue 2026-11-24 15:30"),
        ("через полтора часа", "Tue 2026-11-24 16:30"),
        ("через час", "Tue 2026-11-24 16:00"),
        ("через 1 час 30 минут", "Tue 2026-11-24 16:30"),
        ("in an hour", "Tue 2026-11-24 16:00"),
        ("in 45 minutes", "Tue 2026-11-24 15:45"),
        ("in half an hour", "Tue 2026-11-24 15:30"),
        ("+15m", "Tue 2026-11-24 15:15"),
        ("in 2h", "Tue 2026-11-24 17:00"),
        ("at 17", "Tue 2026-11-24 17:00"),
        ("at 5pm", "Tue 2026-11-24 17:00"),
        ("в 10", "Wed 2026-11-25 10:00"),  # 10:00 has passed today: the next one
        ("friday 3pm", "Fri 2026-11-27 15:00"),
        ("on friday at 3 pm", "Fri 2026-11-27 15:00"),
        ("next friday", "Fri 2026-11-27 09:00"),
        ("в следующую пятницу в 10", "Fri 2026-11-27 10:00"),
        ("во вторник", "Tue 2026-12-01 09:00"),  # today is Tuesday: the next one
        ("25 декабря в 9", "Fri 2026-12-25 09:00"),
        ("25 декабря 2027", "Sat 2027-12-25 09:00"),
        ("dec 25th", "Fri 2026-12-25 09:00"),
        ("25.11", "Wed 2026-11-25 09:00"),
        ("20.11", "Sat 2027-11-20 09:00"),  # passed this year: next year
        ("25.12.2026 14:00", "Fri 2026-12-25 14:00"),
        ("25.12.26", "Fri 2026-12-25 09:00"),
        ("в 9 утра", "Wed 2026-11-25 09:00"),
        ("в 7 вечера", "Tue 2026-11-24 19:00"),
        ("вечером в 7", "Tue 2026-11-24 19:00"),
        ("в 3 дня", "Wed 2026-11-25 15:00"),
        ("в 11 ночи", "Tue 2026-11-24 23:00"),
        ("завтра утром", "Wed 2026-11-25 09:00"),
        ("завтра вечером", "Wed 2026-11-25 19:00"),
        ("tonight", "Tue 2026-11-24 20:00"),
        ("в полдень", "Wed 2026-11-25 12:00"),
        ("в 10.30", "Wed 2026-11-25 10:30"),
        ("завтра в 10 часов 30 минут", "Wed 2026-11-25 10:30"),
        ("через неделю", "Tue 2026-12-01 09:00"),
        ("next week", "Mon 2026-11-30 09:00"),
        ("через месяц", "Thu 2026-12-24 09:00"),
        ("через 3 дня в 15:00", "Fri 2026-11-27 15:00"),
        ("на завтра", "Wed 2026-11-25 09:00"),
        ("29.02", "Tue 2028-02-29 09:00"),
    ],
)
def test_examples(text: str, expected: str):
    assert local(parse_when(text, NOW, MSK)) == expected


@pytest.mark.parametrize(
    "text", ["сегодня в 8", "вчера", "yesterday", "1.1.2020", "2020-05-05 10:00", "сегодня"]
)
def test_past_times_are_refused(text: str):
    with pytest.raises(DomainError) as e:
        parse_when(text, NOW, MSK)
    assert e.value.code == "time_past"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        "через",
        "в 25:00",
        "31.02",
        "15 утра",
        "10",
        "завтра завтра",
        "в",
        "через 2",
        "12:61",
        "x" * 500,
        "через 99999999 дней",
        "9999-12-31",
        "friday monday",
        "32.13",
    ],
)
def test_nonsense_is_unknown(text: str):
    with pytest.raises(DomainError) as e:
        parse_when(text, NOW, MSK)
    assert e.value.code == "time_unknown"


def test_parse_date():
    assert parse_date("завтра", NOW, MSK) == date(2026, 11, 25)
    assert parse_date("сегодня", NOW, MSK) == date(2026, 11, 24)  # a date today is fine
    assert parse_date("25.12", NOW, MSK) == date(2026, 12, 25)
    assert parse_date("2026-12-25", NOW, MSK) == date(2026, 12, 25)
    assert parse_date("in 3 days", NOW, MSK) == date(2026, 11, 27)
    assert parse_date("next friday", NOW, MSK) == date(2026, 11, 27)
    assert parse_date("через 2 часа", NOW, MSK) == date(2026, 11, 24)
    assert parse_date("10.11", NOW, MSK) == date(2027, 11, 10)
    for bad, code in (("вчера", "time_past"), ("2020-01-01", "time_past"), ("пирожок", "time_unknown")):
        with pytest.raises(DomainError) as e:
            parse_date(bad, NOW, MSK)
        assert e.value.code == code


def test_the_date_is_the_managers_not_utc():
    # 23:30 UTC on the 24th is already the 25th in Vladivostok (UTC+10) and still the 24th in New York
    late = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    assert parse_date("завтра", late, "Asia/Vladivostok") == date(2026, 11, 26)
    assert parse_date("завтра", late, "America/New_York") == date(2026, 11, 25)
    assert local(parse_when("завтра в 10", late, "Asia/Vladivostok"), "Asia/Vladivostok") == (
        "Thu 2026-11-26 10:00"
    )


def test_dst_is_respected():
    ny = "America/New_York"
    before = datetime(2026, 3, 7, 17, 0, tzinfo=UTC)  # Saturday noon in New York, DST starts Sunday 02:00
    when = parse_when("завтра в 10", before, ny)
    assert when == datetime(2026, 3, 8, 14, 0, tzinfo=UTC)  # 10:00 EDT is UTC-4
    assert parse_when("завтра в 2:30", before, ny) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # the gap
    assert parse_when("через 24 часа", before, ny) - before == timedelta(hours=24)  # exact offsets


def test_split_when():
    when, rest = split_when("завтра в 10 позвонить Ивану", NOW, MSK)
    assert local(when) == "Wed 2026-11-25 10:00" and rest == "позвонить Ивану"
    when, rest = split_when("через 2 часа: отправить КП", NOW, MSK)
    assert local(when) == "Tue 2026-11-24 17:00" and rest == "отправить КП"
    when, rest = split_when("tomorrow 10am call John <b>", NOW, MSK)
    assert local(when) == "Wed 2026-11-25 10:00" and rest == "call John <b>"
    assert split_when("25.12", NOW, MSK)[1] == ""
    for text, code in (("10 клиентов", "time_unknown"), ("сегодня в 8 встреча", "time_past")):
        with pytest.raises(DomainError) as e:
            split_when(text, NOW, MSK)
        assert e.value.code == code


def test_naive_now_is_a_bug():
    with pytest.raises(ValueError):
        parse_when("завтра", datetime(2026, 1, 1), MSK)


# --- properties ---


@FAST
@given(
    n=st.integers(1, 100_000),
    now=moments,
    tz=zones,
    form=st.sampled_from(["через {n} минут", "in {n} min", "+{n}m"]),
)
def test_in_n_minutes_is_exact(n, now, tz, form):
    assert parse_when(form.format(n=n), now, tz) == now + timedelta(minutes=n)


@FAST
@given(n=st.integers(1, 1000), now=moments, tz=zones)
def test_in_n_hours_is_exact(n, now, tz):
    assert parse_when(f"через {n} часов", now, tz) == now + timedelta(hours=n)


@FAST
@given(
    hour=st.integers(0, 23),
    now=moments,
    tz=zones,
    form=st.sampled_from(["завтра в {h}", "tomorrow at {h}", "завтра {h}:00"]),
)
@example(hour=2, now=datetime(2026, 3, 28, 12, tzinfo=UTC), tz="Europe/Berlin", form="завтра в {h}")
def test_tomorrow_at_h(hour, now, tz, form):
    when = parse_when(form.format(h=hour), now, tz)
    tomorrow = now.astimezone(ZoneInfo(tz)).date() + timedelta(days=1)
    assert when == wall(tomorrow, time(hour), tz)
    assert when.tzinfo is UTC


@FAST
@given(n=st.integers(1, 3000), now=moments, tz=zones)
def test_in_n_days_is_that_date_at_nine(n, now, tz):
    when = parse_when(f"in {n} days", now, tz)
    day = now.astimezone(ZoneInfo(tz)).date() + timedelta(days=n)
    assert when == wall(day, time(9), tz)
    assert parse_date(f"через {n} дней", now, tz) == day


@FAST
@given(wd=st.integers(0, 6), now=moments, tz=zones)
def test_a_weekday_is_the_next_such_day(wd, now, tz):
    names = ["понедельник", "вторник", "среду", "четверг", "пятницу", "субботу", "воскресенье"]
    day = parse_date(f"в {names[wd]}", now, tz)
    today = now.astimezone(ZoneInfo(tz)).date()
    assert day.weekday() == wd and 1 <= (day - today).days <= 7


@FAST
@given(d=st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)), now=moments, tz=zones)
def test_day_month_is_within_a_year_ahead(d, now, tz):
    today = now.astimezone(ZoneInfo(tz)).date()
    got = parse_date(f"{d.day:02}.{d.month:02}", now, tz)
    assert (got.day, got.month) == (d.day, d.month)
    assert today <= got and (got - today).days <= 366 * 8  # 29.02 may wait for a leap year


PHRASE_PARTS = st.lists(
    st.sampled_from(
        [
            "завтра",
            "сегодня",
            "в",
            "через",
            "2",
            "часа",
            "минут",
            "пятницу",
            "10",
            "15:00",
            "25.12",
            "утра",
            "вечера",
            "tomorrow",
            "at",
            "in",
            "days",
            "3pm",
            "next",
            "friday",
            "noon",
            "25",
            "декабря",
            "2026",
            "-",
            ",",
            "полчаса",
            "+",
            "h",
            "неделю",
            "2026-12-25",
            "0",
            "24",
            "60",
            "13.13",
            "29.02.2027",
        ]
    ),
    max_size=6,
)


@FAST
@given(parts=PHRASE_PARTS, now=moments, tz=zones)
def test_results_are_aware_and_in_the_future_or_a_domain_error(parts, now, tz):
    text = " ".join(parts)
    try:
        when = parse_when(text, now, tz)
    except DomainError as e:
        assert e.code in ("time_past", "time_unknown")
        return
    assert when.tzinfo is UTC and when > now


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=80), now=moments, tz=zones)
def test_garbage_never_raises_anything_but_domain_error(text, now, tz):
    for fn in (parse_when, parse_date, split_when):
        try:
            fn(text, now, tz)
        except DomainError as e:
            assert e.code in ("time_past", "time_unknown")


@FAST
@given(tz=st.text(max_size=30))
def test_an_unknown_zone_falls_back_to_utc(tz):
    assert parse_when("через 5 минут", NOW, tz) == NOW + timedelta(minutes=5)


def test_speed():
    texts = ["завтра в 10", "через 2 часа", "в пятницу 15:00", "25.12 9:30", "tomorrow 10am", "in 3 days"]
    started = timer.perf_counter()
    rounds = 500
    for _ in range(rounds):
        for text in texts:
            parse_when(text, NOW, MSK)
        split_when("завтра в 10 позвонить Ивану по поводу договора", NOW, MSK)
    per_call = (timer.perf_counter() - started) / (rounds * (len(texts) + 1))
    assert per_call < 0.002, f"{per_call * 1e6:.0f} µs per parse"
