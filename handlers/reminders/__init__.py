"""Reminders: /remind (or the card's ⏰ button) asks when and what (remind.py); the buttons of a
delivered or just created reminder (buttons.py); /today and /overdue (lists.py)."""

from aiogram import Router

from handlers.reminders import buttons, lists, remind

routers: list[Router] = [remind.router, buttons.router, lists.router]
