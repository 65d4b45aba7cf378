"""Every change of a client bumps its version (a stale button or dialog step is refused) and keeps
its likely-duplicates key in step with the name and company."""

from __future__ import annotations

from datetime import datetime

from models.clients import Client
from models.users import User
from services import search
from services.errors import DomainError


class Stale(DomainError):
    """The card changed since the button or dialog step was drawn."""

    code = "stale"


def check_version(client: Client, version: int) -> None:
    if client.version != version:
        raise Stale()


def rekey(client: Client) -> None:
    """Keep the likely-duplicates key in step with the name and company."""
    client.dup_key = search.duplicate_key(client.name, client.company)


def touch(client: Client, actor: User, now: datetime) -> None:
    client.version = (client.version or 0) + 1
    client.updated_at = now
    client.updated_by = actor.id
