"""The client base: /add (a dialog, or one line), shared contacts and .vcf files, /find, /clients and
their pages, inline mode, and the card's Open, Status, Edit (fields, phones, note), Owner and Merge
buttons. The card's other buttons belong to other areas (see bot/callbacks.CardAction).

Handlers stay thin: services/clients (and services/card, services/merge) do the work, bot/views/clients
draws the replies. `routers` is the order they are tried in. The dialogs' catch-alls for a non-text
message come after the contact and .vcf handlers, except /add's (a contact sent at an /add step is
answered with "send text", as it always was); handlers/__init__ puts the whole list late, just before
the fallback, because contacts and .vcf files are caught here.
"""

from aiogram import Router

from handlers.clients import add, card, contacts, edit, inline, lists, merge, owner, search

routers: list[Router] = [
    add.router,
    contacts.router,
    search.router,
    lists.router,
    inline.router,
    card.router,
    edit.router,
    owner.router,
    merge.router,
]
