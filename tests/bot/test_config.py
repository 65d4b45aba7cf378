"""Settings: defaults, parsing, and one clear line (exit code 2) for anything wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(
            ("BOT_", "ADMIN_", "DATABASE_", "WEBHOOK_", "DEFAULT_", "SEND_", "REDIS_", "TELEGRAM_")
        ):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout


def test_defaults_match_the_documented_table():
    s = load_settings()
    assert s.database_url == "sqlite+aiosqlite:///data/crm.sqlite3"
    assert s.telegram_api_url == "https://api.telegram.org"
    assert s.admin_ids == ()
    assert (s.default_language, s.default_timezone, s.default_region) == ("ru", "Europe/Moscow", "RU")
    assert s.redis_url is None and s.webhook_url is None
    assert s.send_rate == 25 and s.log_level == "INFO"


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    (tmp_path / ".env").write_text("BOT_TOKEN=123:abc\nADMIN_IDS=5, 6;7\nDEFAULT_LANGUAGE=EN\n")
    monkeypatch.setenv("SEND_RATE", "30")
    s = load_settings()
    assert s.bot_token == "123:abc" and s.admin_ids == (5, 6, 7)
    assert s.default_language == "en" and s.send_rate == 30


def test_large_telegram_ids_fit():
    assert load_settings(admin_ids="9007199254740993").admin_ids == (9007199254740993,)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ADMIN_IDS": "12,abc"}, "ADMIN_IDS"),
        ({"DEFAULT_LANGUAGE": "de"}, "DEFAULT_LANGUAGE"),
        ({"DEFAULT_TIMEZONE": "Moscow"}, "DEFAULT_TIMEZONE"),
        ({"DEFAULT_REGION": "XX"}, "DEFAULT_REGION"),
        ({"SEND_RATE": "31"}, "SEND_RATE"),
        ({"SEND_RATE": "fast"}, "SEND_RATE"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"WEBHOOK_URL": "https://example.org/hook"}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_PORT": "70000"}, "WEBHOOK_PORT"),
        ({"BOT_TOKEN": "not-a-token"}, "BOT_TOKEN"),
        ({"TELEGRAM_API_URL": "ftp://x"}, "TELEGRAM_API_URL"),
    ],
)
def test_invalid_setting_names_itself(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SettingsError) as e:
        load_settings()
    assert str(e.value).startswith(expected + ":")


def run_main(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "ADMIN_", "DATABASE_"))}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bad_setting_exits_2_with_one_line_and_no_traceback(tmp_path: Path):
    result = run_main(tmp_path, "check", DEFAULT_TIMEZONE="Nowhere/City")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DEFAULT_TIMEZONE" in lines[0]
    assert "Traceback" not in result.stderr


def test_run_without_token_explains_how_to_get_one(tmp_path: Path):
    result = run_main(tmp_path, "run")
    assert result.returncode == 2
    assert "@BotFather" in result.stderr and "Traceback" not in result.stderr


def test_migrate_command_creates_the_database(tmp_path: Path):
    result = run_main(tmp_path, "migrate", DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/sub/crm.sqlite3")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sub" / "crm.sqlite3").exists()
