"""All routers, in the order they are tried. The fallback router is always last."""

from aiogram import Router

from handlers import (
    clients,
    consent,
    customers,
    deals,
    fallback,
    interactions,
    language,
    loyalty,
    membership,
    reminders,
    start,
    surveys,
    team,
    timezone,
)


def build_routers() -> list[Router]:
    return [
        start.router(),
        language.router(),
        timezone.router(),
        team.router(),
        customers.router(),  # before clients: a customer's shared contact links their account
        consent.router(),
        loyalty.router(),
        surveys.router(),
        reminders.router(),
        interactions.router(),
        deals.router(),
        clients.router(),  # last before fallback: it also catches shared contacts and .vcf files
        membership.router(),
        fallback.router(),
    ]
