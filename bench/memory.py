"""Idle memory of the bot as a user runs it, and a clean stop on SIGTERM.

    .venv/bin/python bench/memory.py [--idle 5] [--users 20] [--db URL] [--check]

Starts ``python main.py run`` as a child process against a FakeTelegram in this process (SQLite in
a temp dir unless ``--db`` is given; LOG_LEVEL=WARNING), waits until it polls, lets it idle, has a
few users talk to it (/start, /help, /language and a language button; the admin /start, /team and
/invite) so that the code paths are imported, lets it idle again and reads the child's RSS (target
< 120 MB, 1 MB = 10^6 bytes). Then sends SIGTERM and checks that the child exits within 10 s.

Exits 0 unless ``--check`` is given and a target failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.fakebot is not an installed package

from bench import dbsetup  # noqa: E402
from tests.fakebot import FakeTelegram, FakeUser, Replies  # noqa: E402

TARGET_MB = 120.0
MB = 1_000_000
ADMIN_ID = 100
USER_BASE = 30_000
START_TIMEOUT = 60.0  # migrations and imports on a cold machine
STOP_TIMEOUT = 10.0
REPLY_TIMEOUT = 10.0
CHECKED = "✓ "


def python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def child_env(server: FakeTelegram, db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        BOT_TOKEN=server.token,
        TELEGRAM_API_URL=server.base_url,
        DATABASE_URL=db_url,
        ADMIN_IDS=str(ADMIN_ID),
        LOG_LEVEL="WARNING",
        # Long polling with the database FSM storage, whatever the environment says.
        WEBHOOK_URL="",
        REDIS_URL="",
    )
    return env


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / MB


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM: the highest RSS the process ever had (Linux only)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / MB
    except OSError:
        return None
    return None


REFERENCE = "import aiogram, psutil; print(psutil.Process().memory_info().rss)"


async def reference_mb() -> float | None:
    """RSS of a Python process that only imports aiogram: the floor for any aiogram bot."""
    proc = await asyncio.create_subprocess_exec(
        python(), "-c", REFERENCE, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    out, _ = await asyncio.wait_for(proc.communicate(), START_TIMEOUT)
    return int(out) / MB if proc.returncode == 0 and out.strip().isdigit() else None


async def wait_for_polling(server: FakeTelegram, child: asyncio.subprocess.Process) -> float:
    """Seconds until the child's first getUpdates; fails if the child exits first."""
    started = time.perf_counter()
    deadline = started + START_TIMEOUT
    while time.perf_counter() < deadline:
        if await server.signal.wait_until(lambda: server.updates.polls > 0, 0.2):
            return time.perf_counter() - started
        if child.returncode is not None:
            raise RuntimeError(f"the bot exited with code {child.returncode} before polling")
    raise RuntimeError(f"the bot did not poll within {START_TIMEOUT:g}s")


async def talk(server: FakeTelegram, users: list[FakeUser], admin: FakeUser) -> int:
    """Exercise the common paths; returns how many updates were handled.

    The bot handles updates as tasks (as in production), so send()/press() return before the reply
    exists: each step waits until the bot wrote to (or edited in) the person's chat.
    """
    handled = 0

    async def step(person: FakeUser, action: Callable[[], Awaitable[Replies]]) -> None:
        nonlocal handled
        chat = server.chat(person.id)
        mark = len(chat.events)
        await action()
        if not await server.signal.wait_until(lambda: len(chat.events) > mark, REPLY_TIMEOUT):
            raise RuntimeError(f"no reply to {person.first_name} within {REPLY_TIMEOUT:g}s")
        await server.wait_idle()
        handled += 1

    for text in ("/start", "/team", "/invite"):
        await step(admin, lambda text=text: admin.send(text))
    for user in users:
        for text in ("/start", "/help", "/language"):
            await step(user, lambda user=user, text=text: user.send(text))
        menu = user.last
        label = next(label for label in menu.labels if not label.startswith(CHECKED))
        await step(user, lambda user=user, menu=menu, label=label: user.press(label, message=menu))
    return handled


async def stop(child: asyncio.subprocess.Process) -> tuple[int | None, float]:
    """SIGTERM; returns the exit code (None if it had to be killed) and how long it took."""
    started = time.perf_counter()
    child.send_signal(signal.SIGTERM)
    try:
        code: int | None = await asyncio.wait_for(child.wait(), STOP_TIMEOUT)
    except TimeoutError:
        child.kill()
        await child.wait()
        code = None
    return code, time.perf_counter() - started


async def run(args: argparse.Namespace) -> bool:
    server = FakeTelegram(global_rate=None)
    await server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
            db_url = args.db or f"sqlite+aiosqlite:///{Path(tmp) / 'crm.sqlite3'}"
            await dbsetup.prepare(db_url, migrate=False)  # the bot migrates at start, as in production
            print(f"database: {dbsetup.describe(db_url) if args.db else 'SQLite (fresh file)'}")
            log_path = Path(tmp) / "bot.log"
            with log_path.open("wb") as log:
                child = await asyncio.create_subprocess_exec(
                    python(),
                    "main.py",
                    "run",
                    cwd=ROOT,
                    env=child_env(server, db_url),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                )
                try:
                    passed = await measure(server, child, args)
                finally:
                    if child.returncode is None:
                        child.kill()
                        await child.wait()
            output = log_path.read_text(errors="replace").strip()
    finally:
        await server.stop()
    if output:
        lines = output.splitlines()
        print(f"bot output at LOG_LEVEL=WARNING ({len(lines)} lines; last 20):")
        for line in lines[-20:]:
            print(f"  {line}")
    else:
        print("bot output at LOG_LEVEL=WARNING: none")
    if server.errors:
        print(f"Bot API errors: {len(server.errors)}; first: {server.errors[0]}")
    return passed


async def measure(server: FakeTelegram, child: asyncio.subprocess.Process, args: argparse.Namespace) -> bool:
    startup = await wait_for_polling(server, child)
    print(f"bot polling {startup:.1f} s after start (pid {child.pid})")
    await asyncio.sleep(args.idle)
    fresh = rss_mb(child.pid)
    users = [server.user(USER_BASE + i, f"User{i}", language_code="en") for i in range(1, args.users + 1)]
    admin = server.user(ADMIN_ID, "Olga", language_code="en")
    sent = await talk(server, users, admin)
    await asyncio.sleep(args.idle)
    idle = rss_mb(child.pid)
    peak = peak_rss_mb(child.pid)
    memory_ok = idle < TARGET_MB
    floor = await reference_mb()
    print(f"RSS after start, idle {args.idle:g} s: {fresh:.1f} MB")
    print(
        f"{sent} updates from {args.users + 1} users handled; peak RSS so far: {peak or float('nan'):.1f} MB"
    )
    print(f"idle RSS: {idle:.1f} MB (target < {TARGET_MB:g} MB): {'PASS' if memory_ok else 'FAIL'}")
    if floor is not None:
        print(f"for reference, `python -c 'import aiogram'` alone: {floor:.1f} MB")
    code, took = await stop(child)
    stop_ok = code == 0
    if code is None:
        print(f"SIGTERM: still running after {STOP_TIMEOUT:g} s, killed: FAIL")
    else:
        verdict = "PASS" if stop_ok else "FAIL (expected exit code 0)"
        print(f"SIGTERM: exited with code {code} after {took:.2f} s (target ≤ {STOP_TIMEOUT:g} s): {verdict}")
    return memory_ok and stop_ok


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--idle", type=float, default=5.0, help="seconds to idle before each reading (5)")
    parser.add_argument("--users", type=int, default=20, help="users who talk to the bot (20)")
    parser.add_argument(
        "--db",
        help="database URL (default: a fresh SQLite file in a temp dir), e.g. "
        "postgresql+asyncpg://postgres@127.0.0.1:5432/bench (created if missing; its schema is reset)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    passed = asyncio.run(run(args))
    return 1 if args.check and not passed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
