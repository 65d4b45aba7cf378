"""An admin's reversal: a manual plus or minus of points with a reason."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.loyalty import REVERSAL, LedgerEntry
from models.users import User
from services.access import sees_everything, visible_client
from services.errors import DomainError, NotAllowed
from services.loyalty.ledger import entry_exists, lock_account, post, tell_customer
from services.loyalty.settings import MAX_POINTS, parse_int, program

REASON_LIMIT = 500


def parse_reversal(text: str | None) -> tuple[int, str]:
    """ "+100 goodwill" / "-50 returned goods": the points (not 0) and a required reason."""
    words = (text or "").strip().split(maxsplit=1)
    if not words:
        raise DomainError("empty")
    raw = words[0].replace("−", "-").replace("–", "-")
    sign = -1 if raw.startswith("-") else 1
    points = parse_int(raw.lstrip("+-"), 1, MAX_POINTS) * sign
    reason = words[1].strip() if len(words) > 1 else ""
    if not reason:
        raise DomainError("reversal_reason")
    if len(reason) > REASON_LIMIT:
        raise DomainError("too_long", limit=REASON_LIMIT, length=len(reason))
    return points, reason


async def reverse(
    session: AsyncSession, actor: User, client_id: int, key: str, points: int, reason: str, now: datetime
) -> LedgerEntry | None:
    """Admins only. A minus never takes the balance below zero. None: this dialog's was made already."""
    if not sees_everything(actor):
        raise NotAllowed()
    client = await visible_client(session, actor, client_id)
    prog = await program(session)
    balance = (await lock_account(session, client.id, now)).balance
    if balance + points < 0 and not await entry_exists(session, f"reversal:{key}"):
        raise DomainError("points_over_balance", balance=balance)
    entry = await post(
        session,
        client.id,
        REVERSAL,
        points,
        now,
        f"reversal:{key}",
        expiry_days=prog.expiry_days,
        actor_id=actor.id,
        reason=reason,
    )
    if entry is not None:
        await tell_customer(
            session,
            client,
            "loyalty_reversal",
            now,
            f"ly:reversal:{entry.id}",
            points=points,
            reason=reason,
            balance=entry.balance_after,
        )
    return entry
