"""gettext wiring: compiled catalogs from locales/, the user's language on every update."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from models.users import User
from services.users import SUPPORTED_LANGUAGES, resolve_language

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


def compile_catalogs(locales_dir: Path = LOCALES_DIR, force: bool = False) -> list[Path]:
    """Compile .po to .mo where the .mo is missing or older (the Makefile does the same with pybabel)."""
    written = []
    for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        written.append(mo_path)
    return written


def create_i18n(default_locale: str, locales_dir: Path = LOCALES_DIR) -> I18n:
    compile_catalogs(locales_dir)
    i18n = I18n(path=locales_dir, default_locale=default_locale, domain=DOMAIN)
    missing = set(SUPPORTED_LANGUAGES) - set(i18n.available_locales)
    if missing:
        raise RuntimeError(f"no compiled catalog for {', '.join(sorted(missing))} in {locales_dir}")
    return i18n


class UserLocaleMiddleware(I18nMiddleware):
    """Stored choice, else Telegram's language_code if supported, else DEFAULT_LANGUAGE."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("user")
        tg_user = data.get("event_from_user")
        code = getattr(tg_user, "language_code", None)
        return resolve_language(user, code, self.i18n.default_locale)
