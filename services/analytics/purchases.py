"""A purchase, for all analytics: a purchase recorded in the bonus program (its value: the amount less
the tier discount, on its date; an imported one: the amount as given) or a deal won in
DEFAULT_CURRENCY (its amount, on its won date). Deals in other currencies stay out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, literal, select, union_all
from sqlalchemy.sql.selectable import CompoundSelect

from models.deals import Deal
from models.loyalty import Purchase

WON = "won"

# The `kind` column of the union: where a purchase row came from.
KIND_PURCHASE = "purchase"
KIND_DEAL = "deal"


def bonus_purchases(currency: str, since: datetime | None = None, until: datetime | None = None) -> Select:
    """Purchases recorded in the bonus program: client_id, at, value, manager_id, kind."""
    q = select(
        Purchase.client_id.label("client_id"),
        Purchase.created_at.label("at"),
        Purchase.discounted.label("value"),
        Purchase.manager_id.label("manager_id"),
        literal(KIND_PURCHASE).label("kind"),
    ).where(Purchase.currency == currency)
    if since is not None:
        q = q.where(Purchase.created_at >= since)
    if until is not None:
        q = q.where(Purchase.created_at < until)
    return q


def won_deals(currency: str, since: datetime | None = None, until: datetime | None = None) -> Select:
    """Deals won in `currency` with an amount: client_id, at (the won date), value, manager_id, kind."""
    q = select(
        Deal.client_id.label("client_id"),
        Deal.closed_at.label("at"),
        Deal.amount.label("value"),
        Deal.owner_id.label("manager_id"),
        literal(KIND_DEAL).label("kind"),
    ).where(
        Deal.stage == WON, Deal.currency == currency, Deal.amount.is_not(None), Deal.closed_at.is_not(None)
    )
    if since is not None:
        q = q.where(Deal.closed_at >= since)
    if until is not None:
        q = q.where(Deal.closed_at < until)
    return q


def purchases(currency: str, since: datetime | None = None, until: datetime | None = None) -> CompoundSelect:
    """Every purchase in [since, until): both sources, one row each (client_id, at, value, manager_id,
    kind). Use it as a subquery: `purchases(...).subquery()`."""
    return union_all(bonus_purchases(currency, since, until), won_deals(currency, since, until))
