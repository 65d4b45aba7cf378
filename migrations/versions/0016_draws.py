"""draws: prize draws among a saved segment's clients, with their frozen participants

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "draws",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("prize", sa.String(length=200), nullable=False),
        sa.Column("segment_id", sa.BigInteger(), nullable=True),
        sa.Column("segment_name", sa.String(length=60), nullable=False),
        sa.Column("closes_at", UTCDateTime(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("draft", "announced", "closed", "cancelled", name="draw_status", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("seed", sa.String(length=64), nullable=True),
        sa.Column("commitment", sa.String(length=64), nullable=True),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("winner_client_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("announced_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("winner_told_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["segments.id"], name=op.f("fk_draws_segment_id_segments"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["winner_client_id"],
            ["clients.id"],
            name=op.f("fk_draws_winner_client_id_clients"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_draws_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draws")),
    )
    op.create_index("ix_draws_created", "draws", ["created_at"], unique=False)
    op.create_table(
        "draw_participants",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("draw_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("told_at", UTCDateTime(), nullable=True),
        sa.Column("told", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["draws.id"], name=op.f("fk_draw_participants_draw_id_draws"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draw_participants")),
        sa.UniqueConstraint("draw_id", "client_id", name="uq_draw_participants_draw_client"),
    )


def downgrade() -> None:
    op.drop_table("draw_participants")
    op.drop_index("ix_draws_created", table_name="draws")
    op.drop_table("draws")
