"""The bonus program: the points card on a client (history, a purchase, an admin's reversal), the gift
hand-over buttons, the customer's /balance, /gifts and /referral, and /loyalty (admins): settings and
the gift catalog.

The routers, in the order they are tried; dialog.router (Cancel, stale buttons, non-text answers)
comes last."""

from aiogram import Router

from handlers.loyalty import card, customer, dialog, handover, purchase, reversal, settings

routers: list[Router] = [
    card.router,
    purchase.router,
    reversal.router,
    handover.router,
    customer.router,
    settings.router,
    dialog.router,
]
