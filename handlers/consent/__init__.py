"""Consent: the customer's /consent switches, /stop and Unsubscribe under marketing messages
(customer.py); the card's "🔔 Consent", where a manager sees the history and records a change on the
customer's word (card.py). The rules are in services/consent.py."""

from aiogram import Router

from handlers.consent import card, customer

routers: list[Router] = [customer.router, card.router]
