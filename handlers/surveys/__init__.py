"""Surveys: the customer's answers — score buttons, the comment or Skip (answers.py); /surveys figures
for staff, managers their own and admins everyone's and per manager (figures.py); the admins' settings,
on/off and the delay per trigger (settings.py); any other survey button is stale (stale.py, last)."""

from aiogram import Router

from handlers.surveys import answers, figures, settings, stale

routers: list[Router] = [answers.router, figures.router, settings.router, stale.router]
