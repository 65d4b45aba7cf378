"""Round trip of an update through the real app, next to a bare aiogram bot, against the fake Bot API.

    .venv/bin/python bench/roundtrip.py [--n 500] [--warmup 50] [--users 20] [--db URL] [--check]

Both bots poll the same FakeTelegram (one after the other, with handle_as_tasks=False) and are measured
by the same code: the time from queueing an update at the fake server to the moment ``send()`` /
``press()`` returns with the bot's reply. Cases:

- ``/start`` of a known user (the real app: session, user upsert, FSM state, i18n, role gate, handler);
- a callback: pressing the language button that is not chosen yet (a DB write, a queued job, an edit
  and answerCallbackQuery).

The bare bot is a Dispatcher with one message handler (answers the text; ``/language`` gets the same
two buttons) and one callback handler (edits the message, answers the callback): no middlewares, no DB.

Prints p50/p99 and the ratio of p99 to the bare bot's p99 (target: ≤ 3×). Exits 0 unless ``--check``
is given and a target failed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.fakebot is not an installed package

# The imports below need ROOT on sys.path.
from aiogram import Bot, Dispatcher, F  # noqa: E402
from aiogram.client.default import DefaultBotProperties  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402
from aiogram.enums import ParseMode  # noqa: E402
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, LinkPreviewOptions, Message  # noqa: E402
from aiogram.utils.keyboard import InlineKeyboardBuilder  # noqa: E402

from bench import dbsetup  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.config import load_settings  # noqa: E402
from tests.fakebot import BotMessage, FakeTelegram, FakeUser, Replies  # noqa: E402

TARGET_RATIO = 3.0
ADMIN_ID = 100
APP_USER_BASE = 10_000  # the real app's users: 10001, 10002, ...
BARE_USER_BASE = 20_000  # the bare bot's users: 20001, 20002, ...
POLL_WAIT_SECONDS = 10.0
CHECKED = "✓ "


# --- measuring ---


@dataclass
class Series:
    """Round trips of one case, in milliseconds, and what looked wrong meanwhile."""

    samples: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def percentile(self, p: int) -> float:
        if len(self.samples) < 2:
            return self.samples[0] if self.samples else float("nan")
        return statistics.quantiles(self.samples, n=100, method="inclusive")[p - 1]

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p99(self) -> float:
        return self.percentile(99)


async def timed(action: Callable[[], Awaitable[Replies]]) -> tuple[float, Replies]:
    """The person's view: from queueing the update to getting the reply (ms)."""
    start = time.perf_counter()
    replies = await action()
    return (time.perf_counter() - start) * 1000, replies


def other_language_label(message: BotMessage) -> str:
    """The language button that is not chosen yet, so every press changes something."""
    for label in message.labels:
        if not label.startswith(CHECKED):
            return label
    raise AssertionError(f"no unchosen language button on {message!r}")


async def measure_start(users: list[FakeUser], warmup: int, n: int, greeting: str) -> Series:
    series = Series()
    for i in range(warmup + n):
        user = users[i % len(users)]
        elapsed, replies = await timed(lambda user=user: user.send("/start"))
        if len(replies) != 1 or not (replies.last.text or "").startswith(greeting):
            series.problems.append(f"/start of {user.id}: unexpected replies {list(replies)!r}")
        if i >= warmup:
            series.samples.append(elapsed)
    return series


async def measure_callback(users: list[FakeUser], warmup: int, n: int) -> Series:
    series = Series()
    menus: dict[int, BotMessage] = {}
    for user in users:  # not measured: each user gets a message with the two language buttons
        replies = await user.send("/language")
        if not replies or len(replies.last.labels) != 2:
            raise AssertionError(f"/language of {user.id} did not show two buttons: {list(replies)!r}")
        menus[user.id] = replies.last
    for i in range(warmup + n):
        user = users[i % len(users)]
        menu = menus[user.id]
        label = other_language_label(menu)
        elapsed, replies = await timed(
            lambda user=user, menu=menu, label=label: user.press(label, message=menu)
        )
        if replies.callback_answer is None or not menu.edited or CHECKED + label not in menu.labels:
            series.problems.append(
                f"press {label!r} by {user.id}: answer={replies.callback_answer!r}, message now {menu!r}"
            )
        if i >= warmup:
            series.samples.append(elapsed)
    return series


@dataclass
class Result:
    start: Series
    callback: Series
    api_errors: list[str]
    log_records: list[str]


class Collect(logging.Handler):
    """Keeps WARNING+ log records emitted while a bot is measured (they are worth reporting)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.levelname} {record.name}: {record.getMessage()}")


async def run_cases(
    server: FakeTelegram, users: list[FakeUser], args: argparse.Namespace, greeting: str, collect: Collect
) -> Result:
    """Both cases, for users who talk to a bot that is polling now; ``greeting`` starts a /start reply."""
    errors_before = len(server.errors)
    collect.records = []
    warmup, n = args.warmup, args.n
    start = await measure_start(users, warmup, n, greeting)
    callback = await measure_callback(users, warmup, n)
    api_errors = [f"{e.method}: {e.error_code} {e.description}" for e in server.errors[errors_before:]]
    return Result(start, callback, api_errors, list(collect.records))


@asynccontextmanager
async def polling(server: FakeTelegram, dp: Dispatcher, bot: Bot) -> AsyncIterator[None]:
    """Poll one update at a time (so send()/press() return after the bot is done), as the tests do."""
    polls_before = server.updates.polls
    task = asyncio.create_task(
        dp.start_polling(
            bot,
            handle_as_tasks=False,
            polling_timeout=1,
            handle_signals=False,
            close_bot_session=False,
            allowed_updates=dp.resolve_used_update_types(),
        )
    )
    try:
        started = await server.signal.wait_until(
            lambda: server.updates.polls > polls_before or task.done(), POLL_WAIT_SECONDS
        )
        if task.done():
            task.result()  # raises what stopped the polling
        if not started:
            raise RuntimeError(f"the bot did not call getUpdates within {POLL_WAIT_SECONDS:g}s")
        yield
    finally:
        if not task.done():
            await dp.stop_polling()
        await asyncio.wait_for(task, POLL_WAIT_SECONDS)


# --- the bots ---


def bare_keyboard(current: str | None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code, name in (("ru", "🇷🇺 Русский"), ("en", "🇬🇧 English")):
        kb.button(text=(CHECKED if code == current else "") + name, callback_data=f"lang:{code}")
    return kb.as_markup()


def bare_dispatcher() -> Dispatcher:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        markup = bare_keyboard(None) if message.text == "/language" else None
        await message.answer(message.text or "?", reply_markup=markup)

    @dp.callback_query(F.data.startswith("lang:"))
    async def choose(query: CallbackQuery) -> None:
        code = (query.data or "").removeprefix("lang:")
        if isinstance(query.message, Message):
            await query.message.edit_text(f"Language: {code}", reply_markup=bare_keyboard(code))
        await query.answer()

    return dp


def bot_for(server: FakeTelegram) -> Bot:
    """Like the app's Bot: same session class and default properties (HTML, no link previews)."""
    return Bot(
        server.token,
        session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)),
        default=DefaultBotProperties(
            parse_mode=ParseMode.HTML, link_preview=LinkPreviewOptions(is_disabled=True)
        ),
    )


async def bench_bare(server: FakeTelegram, args: argparse.Namespace, collect: Collect) -> Result:
    users = [
        server.user(BARE_USER_BASE + i, f"Bare{i}", language_code="en") for i in range(1, args.users + 1)
    ]
    bot = bot_for(server)
    try:
        async with polling(server, bare_dispatcher(), bot):
            return await run_cases(server, users, args, "/start", collect)
    finally:
        await bot.session.close()


async def bench_app(server: FakeTelegram, db_url: str, args: argparse.Namespace, collect: Collect) -> Result:
    users = [server.user(APP_USER_BASE + i, f"User{i}", language_code="en") for i in range(1, args.users + 1)]
    settings = load_settings(
        _env_file=None,
        bot_token=server.token,
        telegram_api_url=server.base_url,
        database_url=db_url,
        admin_ids=str(ADMIN_ID),
        **dbsetup.NO_FLOOD_GUARD,
    )
    app = create_app(settings)
    await app.startup(start_scheduler=False)
    try:
        async with polling(server, app.dp, app.bot):
            return await run_cases(server, users, args, "👋", collect)
    finally:
        await app.shutdown()


# --- report ---


def report(app: Result, bare: Result, args: argparse.Namespace, db_label: str) -> bool:
    print(
        f"round trip, ms: n={args.n} after {args.warmup} warm-up, {args.users} users round robin; "
        f"db={db_label}; python {sys.version.split()[0]}"
    )
    header = (
        f"{'case':<28} {'p50':>7} {'p99':>7} {'bare p50':>9} {'bare p99':>9} {'p99/bare p99':>13}  target"
    )
    print(header)
    print("-" * len(header))
    passed = True
    for name, ours, theirs in (
        ("/start (known user)", app.start, bare.start),
        ("callback (language button)", app.callback, bare.callback),
    ):
        ratio = ours.p99 / theirs.p99
        ok = ratio <= TARGET_RATIO
        passed &= ok
        print(
            f"{name:<28} {ours.p50:7.2f} {ours.p99:7.2f} {theirs.p50:9.2f} {theirs.p99:9.2f} "
            f"{ratio:12.2f}×  {'PASS' if ok else 'FAIL'}"
        )
    print(f"target p99 ≤ {TARGET_RATIO:g}× bare: {'PASS' if passed else 'FAIL'}")
    print(
        f"(for context, p50/bare p50: /start {app.start.p50 / bare.start.p50:.1f}×, "
        f"callback {app.callback.p50 / bare.callback.p50:.1f}×; max: /start {max(app.start.samples):.1f} ms, "
        f"callback {max(app.callback.samples):.1f} ms)"
    )
    for label, result in (("app", app), ("bare", bare)):
        notes = [
            *(f"unexpected reply: {p}" for p in result.start.problems + result.callback.problems),
            *(f"Bot API error: {e}" for e in result.api_errors),
            *(f"log: {r}" for r in result.log_records),
        ]
        if notes:
            print(f"\n{label}: {len(notes)} note(s); first ones:")
            for note in notes[:10]:
                print(f"  {note}")
    return passed


async def run(args: argparse.Namespace) -> bool:
    collect = Collect()
    logging.getLogger().addHandler(collect)
    with tempfile.TemporaryDirectory(prefix="bench-roundtrip-") as tmp:
        db_url = args.db or f"sqlite+aiosqlite:///{Path(tmp) / 'crm.sqlite3'}"
        await dbsetup.prepare(db_url)
        db_label = dbsetup.describe(db_url) if args.db else "SQLite (fresh file)"
        server = FakeTelegram(global_rate=None)
        await server.start()
        try:
            bare = await bench_bare(server, args, collect)
            app = await bench_app(server, db_url, args, collect)
        finally:
            await server.stop()
    return report(app, bare, args, db_label)


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be ≥ 1")
    return number


def non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be ≥ 0")
    return number


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=positive, default=500, help="measured iterations per case (500)")
    parser.add_argument("--warmup", type=non_negative, default=50, help="unmeasured iterations first (50)")
    parser.add_argument("--users", type=positive, default=20, help="distinct users, round robin (20)")
    parser.add_argument(
        "--db",
        help="database URL (default: a fresh SQLite file in a temp dir), e.g. "
        "postgresql+asyncpg://postgres@127.0.0.1:5432/bench (created if missing; its schema is reset)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    passed = asyncio.run(run(args))
    return 1 if args.check and not passed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
