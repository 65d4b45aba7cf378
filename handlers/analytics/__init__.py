"""Analytics: /rfm (RFM segments, ABC classes, the movement between runs, a segment's clients, an
admin's "Recompute now") and the manual VIP flag on the card (admins).

The routers, in the order they are tried."""

from aiogram import Router

from handlers.analytics import rfm, vip

routers: list[Router] = [rfm.router, vip.router]
