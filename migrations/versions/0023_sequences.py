"""Drip sequences: the sequences, their steps, enrolments (one active per client and sequence), one
delivery row per enrolment and step, and the segment members a segment trigger last saw.

Revision ID: 0023
Revises: 0022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TRIGGER = sa.Enum(
    "manual", "linked", "tag", "stage", "segment", name="sequence_trigger", native_enum=False, length=16
)
ENROLMENT_STATUS = sa.Enum(
    "active", "done", "stopped", name="sequence_enrolment_status", native_enum=False, length=16
)
DELIVERY_STATUS = sa.Enum(
    "capped",
    "sending",
    "sent",
    "blocked",
    "failed",
    "unknown",
    name="sequence_delivery_status",
    native_enum=False,
    length=16,
)


def upgrade() -> None:
    op.create_table(
        "sequences",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("default_language", sa.String(length=8), nullable=False),
        sa.Column("trigger", TRIGGER, nullable=False),
        sa.Column("trigger_arg", sa.String(length=60), nullable=True),
        sa.Column("segment_id", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("activated_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["segment_id"], ["segments.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sequence_steps",
        sa.Column("id", ID, nullable=False),
        sa.Column("sequence_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("delay_minutes", sa.Integer(), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("interested", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["sequence_id"], ["sequences.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sequence_id", "position", name="uq_sequence_steps_position"),
    )
    op.create_table(
        "sequence_enrolments",
        sa.Column("id", ID, nullable=False),
        sa.Column("sequence_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("status", ENROLMENT_STATUS, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("next_at", UTCDateTime(), nullable=True),
        sa.Column("last_step_id", sa.BigInteger(), nullable=True),
        sa.Column("enrolled_by", sa.BigInteger(), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("stop_reason", sa.String(length=16), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sequence_id"], ["sequences.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_sequence_enrolments_active",
        "sequence_enrolments",
        ["sequence_id", "client_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index("ix_sequence_enrolments_due", "sequence_enrolments", ["status", "next_at"])
    op.create_index("ix_sequence_enrolments_client", "sequence_enrolments", ["client_id", "status"])
    op.create_table(
        "sequence_deliveries",
        sa.Column("id", ID, nullable=False),
        sa.Column("enrolment_id", sa.BigInteger(), nullable=False),
        sa.Column("step_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("status", DELIVERY_STATUS, nullable=False),
        sa.Column("capped", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.BigInteger(), nullable=True),
        sa.Column("tg_message_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("clicked_at", UTCDateTime(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["enrolment_id"], ["sequence_enrolments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["step_id"], ["sequence_steps.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("enrolment_id", "step_id", name="uq_sequence_deliveries_enrolment_step"),
    )
    op.create_index("ix_sequence_deliveries_client_at", "sequence_deliveries", ["client_id", "status", "at"])
    op.create_index("ix_sequence_deliveries_step", "sequence_deliveries", ["step_id", "status"])
    op.create_table(
        "sequence_segment_members",
        sa.Column("sequence_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sequence_id"], ["sequences.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sequence_id", "client_id"),
    )


def downgrade() -> None:
    op.drop_table("sequence_segment_members")
    op.drop_index("ix_sequence_deliveries_step", table_name="sequence_deliveries")
    op.drop_index("ix_sequence_deliveries_client_at", table_name="sequence_deliveries")
    op.drop_table("sequence_deliveries")
    op.drop_index("ix_sequence_enrolments_client", table_name="sequence_enrolments")
    op.drop_index("ix_sequence_enrolments_due", table_name="sequence_enrolments")
    op.drop_index("uq_sequence_enrolments_active", table_name="sequence_enrolments")
    op.drop_table("sequence_enrolments")
    op.drop_table("sequence_steps")
    op.drop_table("sequences")
