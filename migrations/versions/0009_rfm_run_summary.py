"""rfm: the whole base's figures (distribution, ABC, movement, Pareto) kept with the run; the
covering index of purchases the nightly run reads

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rfm_runs") as batch:
        batch.add_column(sa.Column("summary", sa.JSON(), nullable=True))
    op.create_index(
        "ix_loyalty_purchases_rfm",
        "loyalty_purchases",
        ["currency", "client_id", "created_at", "discounted"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_loyalty_purchases_rfm", table_name="loyalty_purchases")
    with op.batch_alter_table("rfm_runs") as batch:
        batch.drop_column("summary")
