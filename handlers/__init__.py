"""All routers, in the order they are tried. The fallback router is always last."""

from aiogram import Router

from handlers import (
    analytics,
    audit,
    campaigns,
    clients,
    consent,
    customers,
    deals,
    draws,
    export,
    fallback,
    followups,
    imports,
    interactions,
    language,
    loyalty,
    membership,
    reminders,
    segments,
    sequences,
    start,
    surveys,
    team,
    timezone,
)


def build_routers() -> list[Router]:
    routers = [
        start.router,
        language.router,
        timezone.router,
        team.router,
        *customers.routers,  # before clients: a customer's shared contact links their account
        *consent.routers,
        *loyalty.routers,
        *surveys.routers,
        *analytics.routers,
        *segments.routers,
        draws.router,
        followups.router,
        campaigns.router,
        sequences.router,
        *reminders.routers,
        *interactions.routers,
        *deals.routers,
        *imports.routers,
        export.router,
        audit.router,
        *clients.routers,  # last before fallback: it also catches shared contacts and .vcf files
        membership.router,
        fallback.router,
    ]
    for router in routers:
        release(router)
    return routers


def release(router: Router) -> None:
    """Routers live at module level and so outlive a Dispatcher (tests build one app after another):
    each is let go of the previous dispatcher before the next one includes it."""
    router._parent_router = None
