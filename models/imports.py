"""Imports from a file: a staged import (what was read, how its columns map, the dry run's counts, the
apply's progress) and the rows read from the file.

The file is read once, into rows, by a job (the person's update only accepts it); the mapping is
chosen on those rows, the dry run is a job too, and the apply job then walks the rows in batches. Each
batch commits together with `cursor` (the last row applied), so a retried or restarted apply continues
after the last committed batch and never inserts a row twice. Rows of an import left unfinished are
dropped by a nightly clean-up (status `expired`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow


class ImportStatus:
    reading = "reading"  # the file was accepted; the read job downloads, reads and stages it
    read = "read"  # the file is read; the kind (clients or purchases) and the mapping are being chosen
    checking = "checking"  # the dry-run job is checking the rows (of `version`)
    checked = "checked"  # a dry run was done for the current mapping (`checked_version`)
    applying = "applying"  # the apply job is walking the rows
    done = "done"
    cancelled = "cancelled"
    # The file couldn't be read (`rows` 0), or a job stopped for good; what an apply wrote stays.
    failed = "failed"
    expired = "expired"  # left unfinished and untouched for days: its rows were dropped


class Import(Base):
    __tablename__ = "imports"
    __table_args__ = (Index("ix_imports_user_status", "user_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str | None] = mapped_column(String(16))  # clients | purchases
    status: Mapped[str] = mapped_column(String(16), default=ImportStatus.read)
    file_name: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(8))  # csv | xlsx
    encoding: Mapped[str | None] = mapped_column(String(32))
    delimiter: Mapped[str | None] = mapped_column(String(8))
    # How a/b/yyyy dates read in this file: "dm" or "md" (decided over the whole column at the dry run).
    date_order: Mapped[str | None] = mapped_column(String(2))
    headers: Mapped[list[Any]] = mapped_column(JSON)
    mapping: Mapped[list[Any]] = mapped_column(JSON)  # a field name (or None: ignored) per column
    credit_points: Mapped[bool] = mapped_column(Boolean, default=False)
    rows: Mapped[int] = mapped_column(Integer, default=0)  # data rows read (empty ones skipped)
    # Bumped by every change of kind, mapping or options: buttons carry it, a stale one is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)
    checked_version: Mapped[int | None] = mapped_column(Integer)
    to_add: Mapped[int] = mapped_column(Integer, default=0)
    known: Mapped[int] = mapped_column(Integer, default=0)
    invalid: Mapped[int] = mapped_column(Integer, default=0)
    # The apply: rows up to `cursor` (row_no) are done; what they gave.
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    skipped_known: Mapped[int] = mapped_column(Integer, default=0)
    skipped_invalid: Mapped[int] = mapped_column(Integer, default=0)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ImportRow(Base):
    """One data row of the file as read: its cells as text, and its row number in the file."""

    __tablename__ = "import_rows"

    import_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("imports.id", ondelete="CASCADE"), primary_key=True
    )
    row_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    cells: Mapped[list[Any]] = mapped_column(JSON)
