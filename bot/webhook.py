"""Webhook mode: an aiohttp server checks Telegram's secret header on every request."""

from __future__ import annotations

import logging
from urllib.parse import urlparse

from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.app import App
from bot.webapp import server as webapp_server

log = logging.getLogger(__name__)


def webhook_path(url: str) -> str:
    return urlparse(url).path or "/"


async def healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def build_web_app(app: App) -> web.Application:
    """The aiohttp application. Requests without the right X-Telegram-Bot-Api-Secret-Token get 401."""
    settings = app.settings
    web_app = web.Application()
    SimpleRequestHandler(
        dispatcher=app.dp, bot=app.bot, secret_token=settings.webhook_secret, handle_in_background=False
    ).register(web_app, path=webhook_path(settings.webhook_url or "/"))
    setup_application(web_app, app.dp, bot=app.bot)
    web_app.router.add_get("/healthz", healthz)
    if settings.webapp_url and app.deps is not None:
        webapp_server.mount(web_app, app.deps)  # the Mini App, under WEBAPP_URL's path
    return web_app


async def start_webhook(app: App, *, start_scheduler: bool = True) -> web.AppRunner:
    settings = app.settings
    runner = web.AppRunner(build_web_app(app))
    await runner.setup()
    site = web.TCPSite(runner, host=settings.webhook_host, port=settings.webhook_port)
    await site.start()
    await app.startup(start_scheduler=start_scheduler)
    await app.bot.set_webhook(
        settings.webhook_url or "",
        secret_token=settings.webhook_secret,
        allowed_updates=app.dp.resolve_used_update_types(),
    )
    log.info("webhook listening on %s:%s", settings.webhook_host, settings.webhook_port)
    return runner


async def run_webhook(app: App) -> None:
    runner = await start_webhook(app)
    try:
        await app.wait_stop()
    finally:
        await runner.cleanup()
        await app.shutdown()
