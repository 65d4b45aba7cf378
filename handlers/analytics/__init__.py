"""Analytics: /rfm (RFM segments, ABC classes, the movement between runs, a segment's clients, an
admin's "Recompute now"), the manual VIP flag on the card (admins) and /reports (reports with charts,
the satisfaction and loyalty indexes).

The routers, in the order they are tried."""

from aiogram import Router

from handlers.analytics import reports, rfm, vip

routers: list[Router] = [rfm.router, vip.router, reports.router]
