"""satisfaction surveys

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TRIGGER = sa.Enum("contact", "purchase", "deal_won", name="survey_trigger", native_enum=False, length=16)
STATUS = sa.Enum(
    "planned", "sending", "sent", "skipped", "undelivered", name="survey_status", native_enum=False, length=16
)


def upgrade() -> None:
    op.create_table(
        "survey_settings",
        sa.Column("trigger", TRIGGER, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("delay_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_survey_settings_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("trigger", name=op.f("pk_survey_settings")),
    )
    op.create_table(
        "surveys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("manager_id", sa.BigInteger(), nullable=True),
        sa.Column("trigger", TRIGGER, nullable=False),
        sa.Column("ref_id", sa.BigInteger(), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("planned_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("csat", sa.SmallInteger(), nullable=True),
        sa.Column("csat_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("nps", sa.SmallInteger(), nullable=True),
        sa.Column("nps_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("completed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("alerted_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminder_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_surveys_client_id_clients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"], ["users.id"], name=op.f("fk_surveys_manager_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["reminder_id"],
            ["reminders.id"],
            name=op.f("fk_surveys_reminder_id_reminders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
    )
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.create_index("ix_surveys_client_sent", ["client_id", "sent_at"], unique=False)
        batch_op.create_index("ix_surveys_manager_sent", ["manager_id", "sent_at"], unique=False)
        batch_op.create_index("ix_surveys_sent", ["sent_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_index("ix_surveys_sent")
        batch_op.drop_index("ix_surveys_manager_sent")
        batch_op.drop_index("ix_surveys_client_sent")
    op.drop_table("surveys")
    op.drop_table("survey_settings")
