"""The contact log: /log (or the card's 📝 button) → kind → outcome → note (text or voice) → next
step (log.py); the card's 📜 History, paged, with voice notes played back on request (history.py)."""

from aiogram import Router

from handlers.interactions import history, log

routers: list[Router] = [log.router, history.router]
