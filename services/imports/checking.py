"""The dry run (and the apply's check of each batch): every row is to add, already known, or invalid
with the reason.

Clients are already known when a phone, the email or the Telegram id is stored (or came in an earlier
row of the file). Purchases are already known when the same client has an imported purchase of the
same moment, amount and currency (the same file imported twice). Lookups are batched: one query per
kind of key per chunk of rows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client, ClientPhone, ClientStatus
from models.imports import Import, ImportRow, ImportStatus
from models.loyalty import Purchase
from models.users import STAFF_ROLES, User
from services import access, phones
from services.bulk import gc_paused
from services.clients import fields as client_fields
from services.clients.create import NewClient
from services.clients.fields import ClientData
from services.errors import DomainError
from services.imports import fields
from services.imports.reading import FORMULA

# A file's numbers are normalised by the dry run and again by the apply's check of each batch: the
# second time is a memo lookup (the same services/phones normalisation, remembered per process).
normalize_phone = lru_cache(maxsize=250_000)(phones.normalize)
# The rows the last dry run parsed, for the apply that usually follows in the same process: (import id,
# version) -> row number -> its parsed client or the reason it is invalid. The apply takes each row
# out as its batch uses it (take_parsed), and reads the cells only of a batch with a miss (another
# process, a restart, a changed mapping), which it parses again.
_parsed: dict[tuple[int, int], dict[int, Any]] = {}
LOOKUP_CHUNK = 900  # values in one IN (...): under SQLite's oldest variable limit
CHUNK = 5000  # rows checked at a time by the dry run (and shown as its progress)


def forget(import_id: int) -> None:
    for key in [k for k in _parsed if k[0] == import_id]:
        del _parsed[key]


SOURCE = "import"


@dataclass(slots=True)
class NewPurchase:
    row_no: int
    client_id: int
    at: datetime  # UTC
    amount: Decimal
    currency: str


@dataclass
class Outcome:
    add: list[Any] = field(default_factory=list)  # (row_no, NewClient) or NewPurchase
    known: list[tuple[int, str]] = field(default_factory=list)  # (row_no, how it matched)
    invalid: list[tuple[int, DomainError]] = field(default_factory=list)

    def extend(self, other: Outcome) -> None:
        self.add.extend(other.add)
        self.known.extend(other.known)
        self.invalid.extend(other.invalid)


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), LOOKUP_CHUNK):
        yield values[start : start + LOOKUP_CHUNK]


async def _in(session: AsyncSession, columns: Sequence[Any], key: Any, values: Iterable[Any]) -> list[Any]:
    unique = list(dict.fromkeys(values))
    found: list[Any] = []
    for chunk in _chunks(unique):
        found.extend((await session.execute(select(*columns).where(key.in_(chunk)))).all())
    return found


@dataclass
class Checker:
    """Checks rows of one import for one actor; `seen` carries the file's keys from chunk to chunk."""

    session: AsyncSession
    imp: Import
    actor: User
    region: str
    zone: ZoneInfo
    currency: str
    today: date
    staff: dict[str, int] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.remember = False  # the dry run keeps what it parsed for the apply
        self.columns: dict[str, list[int]] = {}
        for i, name in enumerate(self.imp.mapping):
            if name:
                self.columns.setdefault(name, []).append(i)
        self.order = self.imp.date_order or "dm"
        self.admin = access.sees_everything(self.actor)
        self.actor_id = self.actor.id
        # A file's companies, sources, tags and statuses repeat from row to row: each distinct text is
        # cleaned once (the clean_* functions are pure; a value they refuse is refused every time).
        self._texts: dict[tuple[str, str], str | None] = {}
        self._tags: dict[str, list[str]] = {}
        self._statuses: dict[str, ClientStatus] = {}

    async def prepare(self) -> None:
        if self.imp.kind == fields.CLIENTS and self.admin and "owner" in self.columns:
            users = await self.session.scalars(
                select(User).where(User.role.in_(STAFF_ROLES), User.is_active.is_(True))
            )
            for user in users:
                for key in (str(user.id), user.display_name, user.username and "@" + user.username):
                    if key:
                        self.staff.setdefault(key.casefold(), user.id)
                if user.username:
                    self.staff.setdefault(user.username.casefold(), user.id)

    def cells(self, row: list[str], name: str) -> list[str]:
        values = []
        for i in self.columns.get(name, ()):
            value = row[i] if i < len(row) else ""
            if value == FORMULA:
                raise DomainError("import_formula", column=str(self.imp.headers[i])[:40])
            if value:
                values.append(value)
        return values

    def one(self, row: list[str], name: str) -> str:
        values = self.cells(row, name)
        return values[0] if values else ""

    async def check(
        self, rows: Sequence[tuple[int, list[str]]], parsed: dict[int, Any] | None = None
    ) -> Outcome:
        """`parsed`: rows the dry run parsed already (take_parsed), not parsed again."""
        if self.imp.kind == fields.CLIENTS:
            return await self._clients(rows, parsed or {})
        return await self._purchases(rows)

    # --- clients ---

    def client_row(self, row: list[str]) -> NewClient:
        name = " ".join(self.cells(row, "name"))
        if not name:
            name = " ".join(self.cells(row, "first_name") + self.cells(row, "last_name"))
        numbers: list[str] = []
        for cell in self.cells(row, "phone"):
            for part in cell.replace(";", ",").replace("\n", ",").split(","):
                part = fields.phone_text(part)
                if not part:
                    continue
                e164 = normalize_phone(part, self.region)
                if e164 is None:
                    raise DomainError("bad_phone", value=part[:60])
                if e164 not in numbers:
                    numbers.append(e164)
        if len(numbers) > client_fields.MAX_PHONES:
            raise DomainError("too_many_phones", limit=client_fields.MAX_PHONES)
        email = self.one(row, "email")
        birthday = self.one(row, "birthday")
        status = self.one(row, "status")
        telegram = self.one(row, "telegram_id")
        note = "\n".join(self.cells(row, "note"))
        data = ClientData(
            name=client_fields.clean_name(name),
            phones=numbers,
            email=client_fields.clean_email(email) if email else None,
            company=self._text(self.one(row, "company"), "company"),
            position=self._text(self.one(row, "position"), "position"),
            source=self._text(self.one(row, "source"), "source") or SOURCE,
            tags=self._tag_list(",".join(self.cells(row, "tags"))),
            telegram_id=fields.parse_int_id(telegram, "import_bad_telegram_id") if telegram else None,
            birthday=self._birthday(birthday) if birthday else None,
            note=client_fields.clean_text(note, "note", multiline=True),
        )
        return NewClient(
            data=data,
            owner_id=self._owner(self.one(row, "owner")),
            status=self._status(status) if status else ClientStatus.prospect,
        )

    def _text(self, value: str, field_name: str) -> str | None:
        key = (field_name, value)
        if key not in self._texts:
            self._texts[key] = client_fields.clean_text(value, field_name)
        return self._texts[key]

    def _tag_list(self, value: str) -> list[str]:
        if value not in self._tags:
            self._tags[value] = client_fields.clean_tags(value)
        return list(self._tags[value])

    def _status(self, value: str) -> ClientStatus:
        if value not in self._statuses:
            self._statuses[value] = fields.parse_status(value)
        return self._statuses[value]

    def _birthday(self, value: str) -> date:
        day, _at = fields.parse_date(value, self.order)
        if day > self.today:
            raise DomainError("bad_date", value=value[:40])
        return day

    def _owner(self, value: str) -> int:
        """A manager's import is theirs; an admin's may name the owner (id, @username or name)."""
        if not self.admin or not value:
            return self.actor_id
        owner = self.staff.get(value.strip().casefold()) or self.staff.get(
            value.strip().lstrip("@").casefold()
        )
        if owner is None:
            raise DomainError("import_unknown_owner", value=value[:60])
        return owner

    async def _clients(self, rows: Sequence[tuple[int, list[str]]], given: dict[int, Any]) -> Outcome:
        out = Outcome()
        parsed: list[tuple[int, NewClient]] = []
        memo = _parsed.get((self.imp.id, self.imp.version), {}) if self.remember else None
        for row_no, cells in rows:
            item = given.get(row_no)
            if item is None:
                try:
                    item = self.client_row(cells)
                except DomainError as e:
                    item = e
                if memo is not None:
                    memo[row_no] = item
            if isinstance(item, DomainError):
                out.invalid.append((row_no, item))
            else:
                parsed.append((row_no, item))
        stored = await self._stored_keys(parsed)
        seen = self.seen
        for row_no, item in parsed:
            data = item.data
            keys = [f"p:{e}" for e in data.phones]
            if data.email:
                keys.append(f"e:{data.email}")
            if data.telegram_id is not None:
                keys.append(f"t:{data.telegram_id}")
            via = earlier = None
            for k in keys:
                if k in stored:
                    via = k
                    break
            if via is not None:
                out.known.append((row_no, {"p": "phone", "e": "email", "t": "telegram"}[via[0]]))
                continue
            for k in keys:
                if k in seen:
                    earlier = seen[k]
                    break
            if earlier is not None:
                out.known.append((row_no, f"row {earlier}"))
                continue
            for k in keys:
                seen[k] = row_no
            out.add.append((row_no, item))
        return out

    async def _stored_keys(self, parsed: list[tuple[int, NewClient]]) -> set[str]:
        numbers = [e for _, item in parsed for e in item.data.phones]
        emails = [item.data.email for _, item in parsed if item.data.email]
        tg_ids = [item.data.telegram_id for _, item in parsed if item.data.telegram_id is not None]
        stored = {f"p:{r[0]}" for r in await _in(self.session, [ClientPhone.e164], ClientPhone.e164, numbers)}
        stored |= {f"e:{r[0]}" for r in await _in(self.session, [Client.email], Client.email, emails)}
        stored |= {
            f"t:{r[0]}" for r in await _in(self.session, [Client.telegram_id], Client.telegram_id, tg_ids)
        }
        return stored

    # --- purchases ---

    def purchase_row(self, row: list[str]) -> tuple[tuple[str, Any], datetime, Decimal, str]:
        """The client's key (id, phone or email), the moment (UTC), the amount and the currency."""
        key: tuple[str, Any] | None = None
        if value := self.one(row, "client_id"):
            key = ("id", fields.parse_int_id(value, "import_bad_client_id"))
        elif value := self.one(row, "phone"):
            e164 = normalize_phone(fields.phone_text(value), self.region)
            if e164 is None:
                raise DomainError("bad_phone", value=value[:60])
            key = ("phone", e164)
        elif value := self.one(row, "email"):
            key = ("email", client_fields.clean_email(value))
        if key is None:
            raise DomainError("import_no_client")
        raw_date = self.one(row, "date")
        if not raw_date:
            raise DomainError("import_no_date")
        day, at = fields.parse_date(raw_date, self.order)
        if day > self.today:
            raise DomainError("import_future_date", value=raw_date[:40])
        moment = fields.combine_at(day, at, self.zone).astimezone(UTC)
        raw_amount = self.one(row, "amount")
        if not raw_amount:
            raise DomainError("import_bad_amount", value="")
        amount = fields.parse_amount(raw_amount)
        currency = fields.parse_currency(self.one(row, "currency"), self.currency)
        return key, moment, amount, currency

    async def _purchases(self, rows: Sequence[tuple[int, list[str]]]) -> Outcome:
        out = Outcome()
        parsed = []
        for row_no, cells in rows:
            try:
                parsed.append((row_no, *self.purchase_row(cells)))
            except DomainError as e:
                out.invalid.append((row_no, e))
        clients = await self._resolve([p[1] for p in parsed])
        found: list[tuple[int, int, datetime, Decimal, str]] = []
        for row_no, key, moment, amount, currency in parsed:
            client = clients.get(key)
            if client is None:
                out.invalid.append((row_no, DomainError("import_client_not_found", value=str(key[1])[:60])))
            elif not self.admin and client[1] != self.actor_id:
                out.invalid.append((row_no, DomainError("import_not_your_client", value=str(key[1])[:60])))
            else:
                found.append((row_no, client[0], moment, amount, currency))
        existing = await self._imported_before({f[1] for f in found})
        for row_no, client_id, moment, amount, currency in found:
            if (client_id, moment, amount, currency) in existing:
                out.known.append((row_no, "purchase"))
            else:
                out.add.append(NewPurchase(row_no, client_id, moment, amount, currency))
        out.invalid.sort(key=lambda item: item[0])
        return out

    async def _resolve(self, keys: list[tuple[str, Any]]) -> dict[tuple[str, Any], tuple[int, int]]:
        """Each key's live client (merges followed) as (id, owner id)."""
        by_kind: dict[str, list[Any]] = {"id": [], "phone": [], "email": []}
        for kind, value in keys:
            by_kind[kind].append(value)
        first: dict[tuple[str, Any], int] = {}
        for value, client_id in await _in(
            self.session, [ClientPhone.e164, ClientPhone.client_id], ClientPhone.e164, by_kind["phone"]
        ):
            first[("phone", value)] = client_id
        for value, client_id in await _in(
            self.session, [Client.email, Client.id], Client.email, by_kind["email"]
        ):
            first[("email", value)] = client_id
        for value in by_kind["id"]:
            first[("id", value)] = value
        live = await self._live(set(first.values()))
        return {key: live[cid] for key, cid in first.items() if cid in live}

    async def _live(self, ids: set[int]) -> dict[int, tuple[int, int]]:
        result: dict[int, tuple[int, int]] = {}
        pending = {i: i for i in ids}  # asked id -> id to look at
        for _ in range(5):  # merges rarely chain; five hops is plenty
            if not pending:
                break
            rows = await _in(
                self.session, [Client.id, Client.owner_id, Client.merged_into_id], Client.id, pending.values()
            )
            info = {r[0]: (r[1], r[2]) for r in rows}
            nxt: dict[int, int] = {}
            for asked, at in pending.items():
                if at not in info:
                    continue
                owner_id, merged_into = info[at]
                if merged_into is None:
                    result[asked] = (at, owner_id)
                else:
                    nxt[asked] = merged_into
            pending = nxt
        return result

    async def _imported_before(self, client_ids: set[int]) -> set[tuple[int, datetime, Decimal, str]]:
        rows = await _in(
            self.session,
            [Purchase.client_id, Purchase.created_at, Purchase.amount, Purchase.currency, Purchase.origin],
            Purchase.client_id,
            client_ids,
        )
        return {
            (r[0], r[1].astimezone(UTC), Decimal(r[2]).quantize(Decimal("0.01")), r[3])
            for r in rows
            if r[4] == "import"
        }


async def checker(
    session: AsyncSession,
    imp: Import,
    actor: User,
    *,
    region: str,
    zone: ZoneInfo,
    currency: str,
    today: date,
) -> Checker:
    c = Checker(session, imp, actor, region, zone, currency, today)
    await c.prepare()
    return c


ROWS = ImportRow.__table__  # read as a table: no ORM loading per row


async def rows_of(
    session: AsyncSession, import_id: int, after: int = 0, limit: int | None = None
) -> list[tuple[int, list[str]]]:
    stmt = (
        select(ROWS.c.row_no, ROWS.c.cells)
        .where(ROWS.c.import_id == import_id, ROWS.c.row_no > after)
        .order_by(ROWS.c.row_no)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(r[0], r[1]) for r in (await session.execute(stmt)).all()]


async def row_numbers(session: AsyncSession, import_id: int, after: int, limit: int) -> list[int]:
    """The numbers of the next rows, without their cells."""
    stmt = (
        select(ROWS.c.row_no)
        .where(ROWS.c.import_id == import_id, ROWS.c.row_no > after)
        .order_by(ROWS.c.row_no)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


def take_parsed(imp: Import, numbers: Iterable[int]) -> dict[int, Any]:
    """What the last dry run in this process parsed of these rows (a client or the reason it is
    invalid), taken out of its memo: each is used by one apply batch (a batch that rolls back parses
    them again)."""
    memo = _parsed.get((imp.id, imp.version)) if imp.kind == fields.CLIENTS else None
    if not memo:
        return {}
    return {n: memo.pop(n) for n in numbers if n in memo}


async def rows_numbered(
    session: AsyncSession, import_id: int, numbers: Iterable[int]
) -> dict[int, list[str]]:
    """The cells of the rows with these numbers (the invalid ones, for the errors file)."""
    found: dict[int, list[str]] = {}
    for chunk in _chunks(sorted(set(numbers))):
        stmt = select(ROWS.c.row_no, ROWS.c.cells).where(
            ROWS.c.import_id == import_id, ROWS.c.row_no.in_(chunk)
        )
        found.update((r[0], r[1]) for r in (await session.execute(stmt)).all())
    return found


Progress = Callable[[int, int], Awaitable[None]]


async def check_all(
    session: AsyncSession,
    imp: Import,
    actor: User,
    now: datetime,
    *,
    region: str,
    zone: ZoneInfo,
    currency: str,
    chunk: int | None = None,
    progress: Progress | None = None,
) -> tuple[Outcome, str]:
    """Every row checked, nothing written (not even the import: a long check never holds a write lock):
    the outcome and how the file's a/b/yyyy dates read. `progress(done, total)` after each chunk."""
    with gc_paused():
        rows = await rows_of(session, imp.id)
    date_columns = [i for i, m in enumerate(imp.mapping) if m in ("date", "birthday")]
    order = fields.slash_order([r[i] for _, r in rows for i in date_columns if i < len(r)])
    c = await checker(
        session, imp, actor, region=region, zone=zone, currency=currency, today=now.astimezone(zone).date()
    )
    c.order = order
    total = Outcome()
    _parsed.clear()
    if imp.kind == fields.CLIENTS:
        c.remember = True
        _parsed[(imp.id, imp.version)] = {}
    chunk = chunk or CHUNK
    for start in range(0, len(rows), chunk):
        with gc_paused():
            total.extend(await c.check(rows[start : start + chunk]))
        if progress is not None:
            await progress(min(start + chunk, len(rows)), len(rows))
    total.invalid.sort(key=lambda item: item[0])
    return total, order


def _figures(outcome: Outcome, order: str, version: int, now: datetime) -> dict[str, Any]:
    return {
        "date_order": order,
        "to_add": len(outcome.add),
        "known": len(outcome.known),
        "invalid": len(outcome.invalid),
        "status": ImportStatus.checked,
        "checked_version": version,
        "updated_at": now,
    }


async def record(
    session: AsyncSession, import_id: int, version: int, outcome: Outcome, order: str, now: datetime
) -> bool:
    """The dry-run job's figures, written only if the import is still being checked at that version (a
    cancel or a newer file meanwhile wins). False when it wasn't."""
    moved = await session.execute(
        update(Import)
        .where(Import.id == import_id, Import.version == version, Import.status == ImportStatus.checking)
        .values(**_figures(outcome, order, version, now))
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount)


async def dry_run(
    session: AsyncSession,
    imp: Import,
    actor: User,
    now: datetime,
    *,
    region: str,
    zone: ZoneInfo,
    currency: str,
    chunk: int | None = None,
) -> Outcome:
    """Every row checked, nothing written but the import's figures (and its date order), in the
    caller's transaction (scripts and tests; the bot's dry run is the job's check_all and record)."""
    outcome, order = await check_all(
        session, imp, actor, now, region=region, zone=zone, currency=currency, chunk=chunk
    )
    for name, value in _figures(outcome, order, imp.version, now).items():
        setattr(imp, name, value)
    return outcome
