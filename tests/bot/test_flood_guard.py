"""The flood guard's bucket, on an injectable clock: a burst goes through, the next update trips it
(told once), a flood that goes on stays quiet, and a person who stops is heard again."""

from __future__ import annotations

from bot.i18n import create_i18n
from bot.middlewares import FloodGuard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def guard(clock: Clock) -> FloodGuard:
    return FloodGuard(rate=2, burst=12, cooldown=10, i18n=create_i18n("ru"), monotonic=clock)


def test_a_burst_passes_then_the_person_is_told_once_and_dropped():
    clock = Clock()
    g = guard(clock)
    assert [g.allow(1) for _ in range(12)] == [True] * 12
    assert g.allow(1) is False  # over: tell them
    assert {g.allow(1) for _ in range(100)} == {None}  # then silence
    assert g.allow(2) is True  # someone else is not affected


def test_a_flood_that_goes_on_stays_quiet_without_a_second_notice():
    clock = Clock()
    g = guard(clock)
    for _ in range(13):
        g.allow(1)
    verdicts = []
    for _ in range(60 * 50):  # a minute more at 50 updates a second
        clock.now += 0.02
        verdicts.append(g.allow(1))
    assert False not in verdicts, "told once only"
    assert verdicts.count(True) <= 6, verdicts.count(True)  # about one every cool-down, no bursts


def test_a_person_who_stops_is_heard_again_at_a_human_pace():
    clock = Clock()
    g = guard(clock)
    for _ in range(13):
        g.allow(1)
    clock.now += 10.5
    assert g.allow(1) is True
    clock.now += 2
    assert [g.allow(1), g.allow(1)] == [True, True]
