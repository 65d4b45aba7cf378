"""All routers, in the order they are tried. The fallback router is always last."""

from aiogram import Router

from handlers import fallback, language, membership, start, team


def build_routers() -> list[Router]:
    return [start.router(), language.router(), team.router(), membership.router(), fallback.router()]
