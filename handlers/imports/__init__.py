"""/import (admins and managers): a CSV or XLSX file sent with the command or after it; what it holds
(clients or purchases); the columns' mapping, fixed with buttons; a dry run with the errors file; the
apply, which runs as a durable job (scheduler/imports.py) and edits its progress message.

The routers, in the order they are tried."""

from aiogram import Router

from handlers.imports import start, steps

routers: list[Router] = [start.router, steps.router]
