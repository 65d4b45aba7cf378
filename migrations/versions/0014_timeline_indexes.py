"""audit: indexes for the timeline's pages on consent_events, loyalty_entries and deal_events

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 06:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("consent_events", "ix_consent_events_at", ["at", "id"]),
    ("consent_events", "ix_consent_events_actor_at", ["actor_id", "at"]),
    ("loyalty_entries", "ix_loyalty_entries_at", ["at", "id"]),
    ("loyalty_entries", "ix_loyalty_entries_actor_at", ["actor_id", "at"]),
    ("deal_events", "ix_deal_events_actor_at", ["actor_id", "at"]),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
