"""Deals: the pipeline (/deals) and a client's deals, the new-deal dialog (/newdeal and "New deal" on a
client card), the deal card with its stage buttons and history, the lost reason, and edits.

The routers, in the order they are tried; dialog.router (Cancel, stale buttons, non-text answers)
comes last."""

from aiogram import Router

from handlers.deals import board, card, dialog, edit, lost, new_deal, pipeline

routers: list[Router] = [
    pipeline.router,
    new_deal.router,
    card.router,
    lost.router,
    edit.router,
    board.router,
    dialog.router,
]
