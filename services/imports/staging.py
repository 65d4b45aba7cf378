"""A staged import and the steps a person takes on it: what the file holds, the columns' mapping, the
points option, the dry run's figures and the start of the apply. Every step checks the version the
person's button carries, so a stale button changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.imports import Import, ImportRow, ImportStatus
from models.users import User
from services import access, queue
from services.errors import DomainError
from services.imports import fields
from services.imports.reading import Table

APPLY_JOB = "import_apply"
OPEN = (ImportStatus.read, ImportStatus.checked)
INSERT_CHUNK = 5000


def apply_key(import_id: int) -> str:
    return f"{APPLY_JOB}:{import_id}"


async def stage(
    session: AsyncSession, actor: User, chat_id: int, table: Table, file_name: str, now: datetime
) -> Import:
    """The file's rows stored as read; the person's earlier import that was never applied is dropped."""
    earlier = select(Import.id).where(Import.user_id == actor.id, Import.status.in_(OPEN))
    old_ids = list((await session.scalars(earlier)).all())
    if old_ids:
        await session.execute(delete(ImportRow).where(ImportRow.import_id.in_(old_ids)))
        await session.execute(
            update(Import).where(Import.id.in_(old_ids)).values(status=ImportStatus.cancelled, updated_at=now)
        )
    imp = Import(
        user_id=actor.id,
        chat_id=chat_id,
        status=ImportStatus.read,
        file_name=file_name[:255],
        file_format=table.file_format,
        encoding=table.encoding,
        delimiter=table.delimiter,
        headers=table.headers,
        mapping=[None] * len(table.headers),
        credit_points=False,
        rows=len(table.rows),
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
    session.add(imp)
    await session.flush()
    for start in range(0, len(table.rows), INSERT_CHUNK):
        chunk = table.rows[start : start + INSERT_CHUNK]
        await session.execute(
            insert(ImportRow.__table__),
            [{"import_id": imp.id, "row_no": n, "cells": cells} for n, cells in chunk],
        )
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


def _check_open(imp: Import, version: int) -> None:
    if imp.status == ImportStatus.applying:
        raise DomainError("import_applying")
    if imp.status == ImportStatus.done:
        raise DomainError("import_done")
    if imp.status == ImportStatus.cancelled:
        raise DomainError("import_cancelled")
    if imp.version != version:
        raise DomainError("import_stale")


def _changed(imp: Import, now: datetime) -> None:
    imp.version += 1
    imp.status = ImportStatus.read
    imp.checked_version = None
    imp.updated_at = now


def choose_kind(imp: Import, version: int, kind: str, now: datetime) -> None:
    _check_open(imp, version)
    if kind not in fields.KINDS:
        raise DomainError("import_stale")
    imp.kind = kind
    imp.mapping = fields.guess_mapping(kind, list(imp.headers))
    imp.credit_points = False
    _changed(imp, now)


def set_column(imp: Import, version: int, column: int, field_index: int, now: datetime) -> None:
    """Column `column` mapped to the kind's field number `field_index` (-1: ignored). A field other
    than the multi-column ones leaves the column it was mapped to before."""
    _check_open(imp, version)
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
    _check_open(imp, version)
    if imp.kind != fields.PURCHASES or not access.sees_everything(actor):
        raise DomainError("import_stale")
    imp.credit_points = not imp.credit_points
    imp.version += 1
    imp.updated_at = now


def cancel(imp: Import, version: int, now: datetime) -> None:
    _check_open(imp, version)
    imp.status = ImportStatus.cancelled
    imp.updated_at = now


async def drop_rows(session: AsyncSession, import_id: int) -> None:
    await session.execute(delete(ImportRow).where(ImportRow.import_id == import_id))


def ready_to_check(imp: Import, version: int) -> None:
    _check_open(imp, version)
    if imp.kind is None:
        raise DomainError("import_stale")
    if absent := fields.missing(imp.kind, list(imp.mapping)):
        raise DomainError("import_missing_field", field=absent[0])


async def start_apply(
    session: AsyncSession, imp: Import, version: int, message_id: int | None, now: datetime
) -> None:
    """Apply the dry-run-checked import: once. A second press (or one after a restart) changes nothing."""
    if imp.status == ImportStatus.applying:
        raise DomainError("import_applying")
    if imp.status == ImportStatus.done:
        raise DomainError("import_done")
    _check_open(imp, version)
    if imp.status != ImportStatus.checked or imp.checked_version != imp.version:
        raise DomainError("import_stale")
    imp.status = ImportStatus.applying
    imp.progress_message_id = message_id
    imp.updated_at = now
    await queue.enqueue(session, APPLY_JOB, {"import_id": imp.id}, now, key=apply_key(imp.id))
