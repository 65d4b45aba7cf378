"""Settings, read once at start from the environment and `.env`.

A missing or invalid setting stops the program with one line that names it (exit code 2).
"""

from __future__ import annotations

import sys
from typing import Annotated
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SUPPORTED_LANGUAGES = ("ru", "en")
TELEGRAM_API_DEFAULT = "https://api.telegram.org"
DEFAULT_DEAL_STAGES = ("new", "qualification", "proposal", "negotiation", "won", "lost")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: str = ""
    database_url: str = "sqlite+aiosqlite:///data/crm.sqlite3"
    telegram_api_url: str = TELEGRAM_API_DEFAULT
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    default_language: str = "ru"
    default_timezone: str = "Europe/Moscow"
    default_region: str = "RU"
    redis_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    send_rate: float = Field(default=25, gt=0, le=30)
    # Paid broadcasts (Telegram's allow_paid_broadcast: 0.1 Star per message over the free 30/s):
    # the rate a campaign with them enabled is sent at; 0 turns the option off.
    paid_broadcast_rate: float = Field(default=0, ge=0, le=1000)
    log_level: str = "INFO"
    # Flood control: a person's updates beyond this sustained rate (and burst) are ignored for a while.
    flood_rate: float = Field(default=2.0, gt=0, le=1000)
    flood_burst: int = Field(default=12, ge=1, le=10_000)
    flood_cooldown_seconds: float = Field(default=10.0, ge=1, le=3600)
    # Queue tuning; rarely changed, documented in .env.example.
    queue_tick_seconds: float = Field(default=1.0, gt=0, le=60)
    queue_batch_size: int = Field(default=50, ge=1, le=1000)
    queue_lease_seconds: int = Field(default=120, ge=10, le=3600)
    digest_hour: int = Field(default=9, ge=0, le=23)
    # Manager workspace.
    overdue_after_hours: int = Field(default=24, ge=1, le=24 * 30)
    deal_stale_days: int = Field(default=7, ge=1, le=365)
    deal_stages: Annotated[tuple[str, ...], NoDecode] = DEFAULT_DEAL_STAGES
    default_currency: str = "RUB"
    # The Mini App (pipeline board, clients, my day): a public HTTPS URL; unset, it isn't offered.
    webapp_url: str | None = None
    webapp_host: str = "0.0.0.0"
    webapp_port: int = Field(default=8081, ge=1, le=65535)
    webapp_auth_max_age: int = Field(default=24 * 3600, ge=60, le=7 * 24 * 3600)
    # Analytics: how many finished RFM runs are kept (the nightly job drops older ones).
    rfm_keep_runs: int = Field(default=35, ge=2, le=1000)

    @field_validator("deal_stages", mode="before")
    @classmethod
    def _parse_stages(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(p.strip().lower() for p in value.split(",") if p.strip())
        if isinstance(value, (tuple, list)):
            stages = tuple(value)
            if len(set(stages)) != len(stages):
                raise ValueError("stage names must be unique")
            if not {"won", "lost"} <= set(stages):
                raise ValueError("must include won and lost")
            if not 3 <= len(stages) <= 12 or any(
                not s.replace("_", "").isalnum() or len(s) > 24 for s in stages
            ):
                raise ValueError("3-12 comma-separated names of letters, digits and _ (at most 24 each)")
            return stages
        return value

    @field_validator("default_currency")
    @classmethod
    def _check_currency(cls, value: str) -> str:
        value = value.strip().upper()
        if len(value) != 3 or not value.isalpha():
            raise ValueError("must be a three-letter ISO 4217 code such as RUB")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            try:
                return tuple(int(p) for p in parts)
            except ValueError:
                raise ValueError("must be comma-separated numeric Telegram user ids") from None
        if isinstance(value, int):
            return (value,)
        return value

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: str) -> str:
        value = value.strip()
        if value and (":" not in value or not value.split(":", 1)[0].isdigit()):
            raise ValueError("does not look like a token from @BotFather (digits:letters)")
        return value

    @field_validator("default_language")
    @classmethod
    def _check_language(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA time zone name such as Europe/Moscow") from None
        return value

    @field_validator("default_region")
    @classmethod
    def _check_region(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("is not a two-letter region code such as RU")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_db(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("telegram_api_url", "webhook_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.strip().rstrip("/")
            if not value:
                return None
            if not value.startswith(("http://", "https://")):
                raise ValueError("must be an http(s) URL")
        return value

    @field_validator("webapp_url")
    @classmethod
    def _check_webapp_url(cls, value: str | None) -> str | None:
        value = (value or "").strip().rstrip("/")
        if not value:
            return None
        if not value.startswith("https://") or len(value) <= len("https://"):
            raise ValueError("must be a public https:// URL (Telegram opens Mini Apps only over HTTPS)")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @field_validator("redis_url", "webhook_secret")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _check_webhook(self) -> Settings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("WEBHOOK_SECRET: is required when WEBHOOK_URL is set")
        if self.webhook_secret and not all(c.isalnum() or c in "_-" for c in self.webhook_secret):
            raise ValueError("WEBHOOK_SECRET: only A-Z, a-z, 0-9, _ and - are allowed")
        if self.webhook_secret and not 1 <= len(self.webhook_secret) <= 256:
            raise ValueError("WEBHOOK_SECRET: must be 1-256 characters")
        if self.webhook_url and self.webapp_url and not urlparse(self.webapp_url).path.strip("/"):
            raise ValueError("WEBAPP_URL: needs a path (such as /app) in webhook mode, beside the webhook")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class SettingsError(Exception):
    """One line naming the setting and what is wrong with it."""


def describe(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = [str(p) for p in first.get("loc", ()) if p != "__root__"]
    msg = first.get("msg", "is invalid").removeprefix("Value error, ")
    if loc:
        return f"{loc[0].upper()}: {msg}"
    return msg


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as e:
        raise SettingsError(describe(e)) from None


def load_or_exit(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as e:
        print(f"Configuration error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
