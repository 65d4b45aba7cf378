"""The Mini App's aiohttp application: security headers on every answer, initData and role checks,
one session and transaction per request (rolled back when the answer is an error), and the
standalone server that polling mode runs on WEBAPP_HOST:WEBAPP_PORT. Webhook mode mounts the same
application on the webhook server (bot/webhook.py)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from urllib.parse import urlparse

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.deps import Deps
from bot.webapp import auth, routes, texts
from bot.webapp.context import BASE, DEPS, WEB, Web
from services.users import SUPPORTED_LANGUAGES, resolve_language

log = logging.getLogger(__name__)

FRAME_ANCESTORS = "https://web.telegram.org https://*.telegram.org"
CSP = (
    "default-src 'none'; script-src 'self' https://telegram.org; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    f"frame-ancestors {FRAME_ANCESTORS}"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def base_path(url: str | None) -> str:
    """The path the Mini App is served under: WEBAPP_URL's path ("" for the root)."""
    return urlparse(url or "").path.rstrip("/")


class _Rollback(Exception):
    def __init__(self, response: web.StreamResponse) -> None:
        super().__init__()
        self.response = response


def _secure(response: web.StreamResponse, started: float) -> None:
    response.headers.update(SECURITY_HEADERS)
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The security headers on every answer, and the handler's time (Server-Timing: app;dur=ms)."""
    started = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as e:
        _secure(e, started)
        raise
    except Exception:  # never a traceback to the person: logged, and a short answer
        log.exception("Mini App request %s %s failed", request.method, request.path)
        response = web.json_response({"error": "server", "message": "⚠️"}, status=500)
    _secure(response, started)
    return response


def _locale_hint(code: str | None, default: str) -> str:
    code = (code or "").split("-")[0].lower()
    return code if code in SUPPORTED_LANGUAGES else default


def _refused(deps: Deps, e: auth.AuthError, locale: str) -> web.Response:
    with deps.i18n.context(), deps.i18n.use_locale(locale):
        message = texts.auth_error(e.code)
    return web.json_response({"error": e.code, "message": message}, status=e.status)


@web.middleware
async def authenticated(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every data request: the initData, then the staff member, in the request's own transaction."""
    match = request.match_info
    if match.http_exception is not None or getattr(match.handler, "public", False):
        return await handler(request)
    deps = request.app[DEPS]
    settings = deps.settings
    locale = settings.default_language
    try:
        data = auth.verify(
            settings.bot_token,
            auth.init_data_of(request.headers.get("Authorization")),
            deps.clock.now(),
            timedelta(seconds=settings.webapp_auth_max_age),
        )
        locale = _locale_hint(data.user.language_code if data.user else None, locale)
        async with deps.session_factory() as session:
            try:
                async with session.begin():
                    user = await auth.staff_member(session, data.user.id)  # type: ignore[union-attr]
                    locale = resolve_language(user, user.tg_language, settings.default_language)
                    with deps.i18n.context(), deps.i18n.use_locale(locale):
                        request[WEB] = Web(session, user, locale, deps)
                        response = await handler(request)
                    if response.status >= 400:
                        raise _Rollback(response)
                    return response
            except _Rollback as r:
                return r.response
    except auth.AuthError as e:
        return _refused(deps, e, locale)


def build(deps: Deps) -> web.Application:
    """The Mini App as an aiohttp application (mounted under WEBAPP_URL's path, or the root)."""
    app = web.Application(middlewares=[headers, authenticated], client_max_size=64 * 1024)
    app[DEPS] = deps
    app[BASE] = base_path(deps.settings.webapp_url)
    routes.register(app)
    return app


def mount(root: web.Application, deps: Deps) -> None:
    """Add the Mini App to a server that serves other things (the webhook's)."""
    base = base_path(deps.settings.webapp_url)
    if not base:
        raise ValueError("WEBAPP_URL needs a path (such as /app) when it shares the webhook's server")
    root.add_subapp(base, build(deps))


async def start(deps: Deps) -> web.AppRunner:
    """Polling mode: the Mini App's own server on WEBAPP_HOST:WEBAPP_PORT."""
    settings = deps.settings
    base = base_path(settings.webapp_url)
    if base:
        root = web.Application()
        root.add_subapp(base, build(deps))
    else:
        root = build(deps)
    runner = web.AppRunner(root, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host=settings.webapp_host, port=settings.webapp_port).start()
    log.info("Mini App listening on %s:%s%s/", settings.webapp_host, settings.webapp_port, base)
    return runner
