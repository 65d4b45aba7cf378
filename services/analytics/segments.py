"""RFM segments: a name for every (R, F) cell, R and F scored 1-5.

Champions R5 F4-5; Loyal R3-4 F4-5; Potential loyalists R4-5 F2-3; New R5 F1; Promising R4 F1;
Need attention R3 F3; About to sleep R3 F1-2; At risk R1-2 F3-4; Can't lose them R1-2 F5;
Hibernating R1-2 F1-2. A client with no purchase in 365 days has no scores: "No recent purchases".
The keys are stored (rfm_scores.segment) and exported; bot/views/segments.py translates them.
"""

from __future__ import annotations

import enum


class Segment(enum.StrEnum):
    CHAMPIONS = "champions"
    LOYAL = "loyal"
    POTENTIAL_LOYALISTS = "potential_loyalists"
    NEW = "new"
    PROMISING = "promising"
    NEED_ATTENTION = "need_attention"
    ABOUT_TO_SLEEP = "about_to_sleep"
    AT_RISK = "at_risk"
    CANT_LOSE = "cant_lose"
    HIBERNATING = "hibernating"
    NO_RECENT = "no_recent"  # no purchase in the last 365 days: not scored


# Best first: the order of every list and chart of segments.
ORDER = tuple(Segment)
SCORED = tuple(s for s in Segment if s is not Segment.NO_RECENT)


def segment_of(r: int, f: int) -> Segment:
    """The segment of an (R, F) cell; every one of the 25 cells has exactly one."""
    if not (1 <= r <= 5 and 1 <= f <= 5):
        raise ValueError(f"scores out of 1-5: R{r} F{f}")
    if r == 5:
        return Segment.CHAMPIONS if f >= 4 else Segment.POTENTIAL_LOYALISTS if f >= 2 else Segment.NEW
    if r == 4:
        return Segment.LOYAL if f >= 4 else Segment.POTENTIAL_LOYALISTS if f >= 2 else Segment.PROMISING
    if r == 3:
        if f >= 4:
            return Segment.LOYAL
        return Segment.NEED_ATTENTION if f == 3 else Segment.ABOUT_TO_SLEEP
    if f == 5:
        return Segment.CANT_LOSE
    return Segment.AT_RISK if f >= 3 else Segment.HIBERNATING


# The same table as data, for SQL: [(segment, r_low, r_high, f_low, f_high)], covering each cell once.
CELLS: tuple[tuple[Segment, int, int, int, int], ...] = (
    (Segment.CHAMPIONS, 5, 5, 4, 5),
    (Segment.LOYAL, 3, 4, 4, 5),
    (Segment.POTENTIAL_LOYALISTS, 4, 5, 2, 3),
    (Segment.NEW, 5, 5, 1, 1),
    (Segment.PROMISING, 4, 4, 1, 1),
    (Segment.NEED_ATTENTION, 3, 3, 3, 3),
    (Segment.ABOUT_TO_SLEEP, 3, 3, 1, 2),
    (Segment.AT_RISK, 1, 2, 3, 4),
    (Segment.CANT_LOSE, 1, 2, 5, 5),
    (Segment.HIBERNATING, 1, 2, 1, 2),
)
