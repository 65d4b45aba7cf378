"""Exported files as a person got them: the documents in their chat, and a document's bytes from the
fake Bot API's file store."""

from __future__ import annotations


def download(tg, message) -> bytes:
    stored = tg.files.get(message.file_id)
    assert stored is not None, message
    return stored.content


def documents(person) -> list:
    return [m for m in person.messages if m.document]
