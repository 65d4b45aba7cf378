"""The survey rules in numbers: the limits, the daytime window, the scores, the periods."""

from __future__ import annotations

from datetime import time, timedelta

SEND_JOB = "survey.send"
LIMIT = timedelta(days=14)  # at most one survey per customer in this long
LIFETIME = timedelta(days=7)  # answers are taken this long after the survey was sent
REJECTED = "rejected"  # the outcome of a survey Telegram refused for good (e.g. 400 bad request)
DAY_START, DAY_END = time(10, 0), time(20, 0)  # delivered only in this window, customer's local time
COMMENT_LIMIT = 1000
CSAT_SCORES = range(1, 6)
NPS_SCORES = range(0, 11)
LOW_CSAT, LOW_NPS = 3, 6  # at or below: the owner is told and gets a follow-up
FOLLOWUP_AFTER = timedelta(hours=1)
MAX_DELAY_MINUTES = 30 * 24 * 60
PERIODS = (30, 90)  # days shown in /surveys
MANAGERS_PAGE = 8
