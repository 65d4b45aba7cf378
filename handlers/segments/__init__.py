"""Saved client segments (/segments): the list with live counts, a segment's conditions, counts and
clients, delete, and the editor that builds one with buttons (the audience campaigns pick).

The routers, in the order they are tried."""

from aiogram import Router

from handlers.segments import browse, editor

routers: list[Router] = [browse.router, editor.router]
