"""A staged import and the steps a person takes on it: the file accepted (read and staged by a job), what
it holds, the columns' mapping, the points option, the start of the dry run (a job) and of the apply (a
job). Every step checks the version the person's button carries, so a stale button changes nothing.
Imports left unfinished are expired by a nightly clean-up, which drops their rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.imports import Import, ImportRow, ImportStatus
from models.jobs import Job, JobStatus
from models.users import User
from services import access, queue
from services.bulk import insert_rows
from services.errors import DomainError
from services.imports import fields, reading
from services.imports.reading import Table

READ_JOB = "import_read"
CHECK_JOB = "import_check"
APPLY_JOB = "import_apply"
OPEN = (ImportStatus.read, ImportStatus.checked)  # the steps of the mapping and the dry run are possible
# Not applied and not given up: a newer file replaces it, the clean-up expires it when left untouched.
UNFINISHED = (ImportStatus.reading, ImportStatus.read, ImportStatus.checking, ImportStatus.checked)
WORKING = (ImportStatus.reading, ImportStatus.checking, ImportStatus.applying)  # a job is on it
EXPIRE_AFTER = timedelta(days=7)
# A job of a working import still queued after this long has ended for good (retries take hours at most).
STUCK_AFTER = timedelta(days=1)
INSERT_CHUNK = 5000
ROW_COLUMNS = ("import_id", "row_no", "cells")


def read_key(import_id: int) -> str:
    return f"{READ_JOB}:{import_id}"


def check_key(import_id: int, version: int) -> str:
    return f"{CHECK_JOB}:{import_id}:{version}"


def apply_key(import_id: int) -> str:
    return f"{APPLY_JOB}:{import_id}"


async def _drop_unfinished(session: AsyncSession, actor: User, now: datetime) -> None:
    """The person's earlier import that was never applied: cancelled, its rows dropped (a job still on
    it finds it cancelled and stops)."""
    earlier = select(Import.id).where(Import.user_id == actor.id, Import.status.in_(UNFINISHED))
    old_ids = list((await session.scalars(earlier)).all())
    if old_ids:
        await session.execute(delete(ImportRow).where(ImportRow.import_id.in_(old_ids)))
        await session.execute(
            update(Import)
            .where(Import.id.in_(old_ids), Import.status.in_(UNFINISHED))
            .values(status=ImportStatus.cancelled, updated_at=now)
            .execution_options(synchronize_session=False)
        )


def _new(actor: User, chat_id: int, file_name: str, file_format: str, now: datetime) -> Import:
    return Import(
        user_id=actor.id,
        chat_id=chat_id,
        status=ImportStatus.reading,
        file_name=file_name[:255],
        file_format=file_format,
        headers=[],
        mapping=[],
        credit_points=False,
        rows=0,
        version=1,
        to_add=0,
        known=0,
        invalid=0,
        cursor=0,
        added=0,
        skipped_known=0,
        skipped_invalid=0,
        created_at=now,
        updated_at=now,
    )


async def accept(
    session: AsyncSession,
    actor: User,
    chat_id: int,
    file_id: str,
    file_name: str,
    file_size: int | None,
    now: datetime,
) -> Import:
    """A file whose type and size were checked: a new import, read by the read job queued with it (the
    job downloads the file by its Telegram id). The person's earlier unfinished import is dropped."""
    fmt = reading.file_format(file_name)
    reading.check_size(file_size)
    await _drop_unfinished(session, actor, now)
    imp = _new(actor, chat_id, file_name, fmt, now)
    session.add(imp)
    await session.flush()
    payload = {"import_id": imp.id, "file_id": file_id, "size": file_size}
    await queue.enqueue(session, READ_JOB, payload, now, key=read_key(imp.id))
    return imp


async def fill(session: AsyncSession, imp: Import, table: Table, now: datetime) -> bool:
    """The file's rows stored as read, in the caller's transaction: the import moves from reading to
    read with a conditional UPDATE, so a cancel or a newer file meanwhile wins and a second run (a retry
    after this one committed) writes nothing. False when it wasn't reading any more."""
    moved = await session.execute(
        update(Import)
        .where(Import.id == imp.id, Import.status == ImportStatus.reading)
        .values(
            status=ImportStatus.read,
            file_format=table.file_format,
            encoding=table.encoding,
            delimiter=table.delimiter,
            headers=table.headers,
            mapping=[None] * len(table.headers),
            rows=len(table.rows),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:
        return False
    for start in range(0, len(table.rows), INSERT_CHUNK):
        chunk = table.rows[start : start + INSERT_CHUNK]
        await insert_rows(
            session, ImportRow.__table__, ROW_COLUMNS, [(imp.id, n, cells) for n, cells in chunk]
        )
    await session.refresh(imp)
    return True


async def refuse(session: AsyncSession, import_id: int, now: datetime) -> bool:
    """The file couldn't be read: the import (still reading) fails. False when it wasn't reading."""
    moved = await session.execute(
        update(Import)
        .where(Import.id == import_id, Import.status == ImportStatus.reading)
        .values(status=ImportStatus.failed, finished_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount)


async def stage(
    session: AsyncSession, actor: User, chat_id: int, table: Table, file_name: str, now: datetime
) -> Import:
    """A file already read, staged at once (what the read job does after the download; scripts and
    tests): the person's earlier unfinished import is dropped."""
    await _drop_unfinished(session, actor, now)
    imp = _new(actor, chat_id, file_name, table.file_format, now)
    session.add(imp)
    await session.flush()
    await fill(session, imp, table, now)
    return imp


async def get(session: AsyncSession, actor: User, import_id: int, *, lock: bool = False) -> Import:
    """The person's own import (nobody else's)."""
    stmt = select(Import).where(Import.id == import_id)
    if lock:
        stmt = stmt.with_for_update()
    imp = await session.scalar(stmt)
    if imp is None or imp.user_id != actor.id:
        raise DomainError("import_not_found")
    return imp


CLOSED = {
    ImportStatus.reading: "import_reading",
    ImportStatus.checking: "import_checking",
    ImportStatus.applying: "import_applying",
    ImportStatus.done: "import_done",
    ImportStatus.cancelled: "import_cancelled",
    ImportStatus.failed: "import_failed",
    ImportStatus.expired: "import_expired",
}
# Refusals that say a job is on the import: the job will show its result in the message.
BUSY = ("import_reading", "import_checking", "import_applying")


def ensure_open(imp: Import, version: int) -> None:
    if code := CLOSED.get(imp.status):
        raise DomainError(code)
    if imp.version != version:
        raise DomainError("import_stale")


def _changed(imp: Import, now: datetime) -> None:
    imp.version += 1
    imp.status = ImportStatus.read
    imp.checked_version = None
    imp.updated_at = now


def choose_kind(imp: Import, version: int, kind: str, now: datetime) -> None:
    ensure_open(imp, version)
    if kind not in fields.KINDS:
        raise DomainError("import_stale")
    imp.kind = kind
    imp.mapping = fields.guess_mapping(kind, list(imp.headers))
    imp.credit_points = False
    _changed(imp, now)


def set_column(imp: Import, version: int, column: int, field_index: int, now: datetime) -> None:
    """Column `column` mapped to the kind's field number `field_index` (-1: ignored). A field other
    than the multi-column ones leaves the column it was mapped to before."""
    ensure_open(imp, version)
    allowed = fields.FIELDS.get(imp.kind or "", ())
    if not 0 <= column < len(imp.headers) or not -1 <= field_index < len(allowed):
        raise DomainError("import_stale")
    name = allowed[field_index] if field_index >= 0 else None
    mapping = list(imp.mapping)
    if name is not None and name not in fields.MULTI:
        mapping = [None if m == name else m for m in mapping]
    mapping[column] = name
    imp.mapping = mapping
    _changed(imp, now)


def toggle_credit(imp: Import, actor: User, version: int, now: datetime) -> None:
    ensure_open(imp, version)
    if imp.kind != fields.PURCHASES or not access.sees_everything(actor):
        raise DomainError("import_stale")
    imp.credit_points = not imp.credit_points
    imp.version += 1
    imp.updated_at = now


def cancel(imp: Import, version: int, now: datetime) -> None:
    ensure_open(imp, version)
    imp.status = ImportStatus.cancelled
    imp.updated_at = now


async def drop_rows(session: AsyncSession, import_id: int) -> None:
    await session.execute(delete(ImportRow).where(ImportRow.import_id == import_id))


def ready_to_check(imp: Import, version: int) -> None:
    ensure_open(imp, version)
    if imp.kind is None:
        raise DomainError("import_stale")
    if absent := fields.missing(imp.kind, list(imp.mapping)):
        raise DomainError("import_missing_field", field=absent[0])


async def start_check(
    session: AsyncSession, imp: Import, version: int, message_id: int | None, now: datetime
) -> None:
    """The dry run, as a job that shows its progress and then the result in `message_id`. The version
    moves on, so the buttons of the mapping (another Check among them) are stale while it runs."""
    ready_to_check(imp, version)
    imp.version += 1
    imp.status = ImportStatus.checking
    imp.checked_version = None
    imp.progress_message_id = message_id
    imp.updated_at = now
    payload = {"import_id": imp.id, "version": imp.version}
    await queue.enqueue(session, CHECK_JOB, payload, now, key=check_key(imp.id, imp.version))


async def start_apply(
    session: AsyncSession, imp: Import, version: int, message_id: int | None, now: datetime
) -> None:
    """Apply the dry-run-checked import: once. A second press (or one after a restart) changes nothing."""
    ensure_open(imp, version)
    if imp.status != ImportStatus.checked or imp.checked_version != imp.version:
        raise DomainError("import_stale")
    imp.status = ImportStatus.applying
    imp.progress_message_id = message_id
    imp.updated_at = now
    await queue.enqueue(session, APPLY_JOB, {"import_id": imp.id}, now, key=apply_key(imp.id))


async def give_up(session: AsyncSession, import_id: int, now: datetime) -> Import | None:
    """A job on the import ended for good (an error it couldn't get past): a file being read or an
    apply fails (what the apply's committed batches wrote stays, the other rows are dropped); a dry run
    goes back to the mapping, to be tried again. None when no job was on it any more."""
    imp = await session.get(Import, import_id, with_for_update=True)
    if imp is None or imp.status not in WORKING:
        return None
    if imp.status == ImportStatus.checking:
        imp.status = ImportStatus.read
    else:
        imp.status = ImportStatus.failed
        imp.finished_at = now
        await drop_rows(session, imp.id)
    imp.updated_at = now
    await session.flush()
    return imp


async def expire_abandoned(session: AsyncSession, now: datetime, limit: int) -> tuple[int, bool]:
    """Imports not applied and untouched for EXPIRE_AFTER: expired, their rows dropped. Returns how
    many, and whether more remain (up to `limit` at a time)."""
    stmt = (
        select(Import.id)
        .where(Import.status.in_(UNFINISHED), Import.updated_at < now - EXPIRE_AFTER)
        .order_by(Import.id)
        .limit(limit + 1)
    )
    ids = list((await session.scalars(stmt)).all())
    more = len(ids) > limit
    ids = ids[:limit]
    if ids:
        await session.execute(delete(ImportRow).where(ImportRow.import_id.in_(ids)))
        await session.execute(
            update(Import)
            .where(Import.id.in_(ids), Import.status.in_(UNFINISHED))
            .values(status=ImportStatus.expired, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(ids), more


async def stuck(session: AsyncSession, now: datetime) -> list[int]:
    """Imports a job was on, untouched for STUCK_AFTER, with no job of theirs still queued or running:
    their job ended for good without saying so (a worker that kept dying is failed by the queue before
    the job's own code runs)."""
    ids = list(
        (
            await session.scalars(
                select(Import.id).where(Import.status.in_(WORKING), Import.updated_at < now - STUCK_AFTER)
            )
        ).all()
    )
    if not ids:
        return []
    live = await session.scalars(
        select(Job.idempotency_key).where(
            Job.kind.in_((READ_JOB, CHECK_JOB, APPLY_JOB)),
            Job.status.in_((JobStatus.pending, JobStatus.running)),
        )
    )
    busy = {_import_of(key) for key in live}
    return [i for i in ids if i not in busy]


def _import_of(key: str | None) -> int | None:
    """The import a job's key names (import_<step>:<import id>[:...])."""
    parts = (key or "").split(":")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
