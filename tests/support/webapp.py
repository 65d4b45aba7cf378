"""The Mini App's side in tests: initData signed as Telegram signs it, and the app's aiohttp server."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import App
from bot.webapp import server

WEBAPP_URL = "https://crm.test/app"
BASE = "/app"


def sign_init_data(
    token: str, user_id: int, auth_date: datetime, *, first_name: str = "Anna", **extra: Any
) -> str:
    """initData for `user_id`, signed with the bot token (HMAC-SHA256 of the sorted fields with the key
    HMAC-SHA256("WebAppData", token)), the way Telegram hands it to a Mini App."""
    user = {"id": user_id, "first_name": first_name, "language_code": extra.pop("language_code", "ru")}
    fields = {
        "query_id": "AAH-test",
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(int(auth_date.timestamp())),
        **{k: str(v) for k, v in extra.items()},
    }
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


def auth_header(init_data: str) -> dict[str, str]:
    return {"Authorization": f"tma {init_data}"}


def root_app(app: App) -> web.Application:
    root = web.Application()
    assert app.deps is not None
    server.mount(root, app.deps)
    return root


@asynccontextmanager
async def webapp_client(app: App) -> AsyncIterator[TestClient]:
    """The Mini App as the bot serves it (under WEBAPP_URL's path), with aiohttp's test client."""
    client = TestClient(TestServer(root_app(app)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
