"""exports: requests made by a durable job; audit: the client, before and after of each event

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime


revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "export_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("dataset", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("active", sa.SmallInteger(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("parts_total", sa.Integer(), nullable=False),
        sa.Column("parts_sent", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_export_requests_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_requests")),
    )
    with op.batch_alter_table("export_requests", schema=None) as batch_op:
        batch_op.create_index("ux_export_requests_user_active", ["user_id", "active"], unique=True)

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("before", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("after", sa.Text(), nullable=True))
        batch_op.create_index("ix_audit_events_client_at", ["client_id", "at"], unique=False)
        batch_op.create_index("ix_audit_events_actor_at", ["actor_id", "at"], unique=False)
    # Events recorded before this revision name their client in `target` ("client:42").
    op.execute(
        "UPDATE audit_events SET client_id = CAST(substr(target, 8) AS BIGINT) "
        "WHERE target LIKE 'client:%' AND substr(target, 8) NOT LIKE '%:%' AND substr(target, 8) <> '-'"
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_actor_at")
        batch_op.drop_index("ix_audit_events_client_at")
        batch_op.drop_column("after")
        batch_op.drop_column("before")
        batch_op.drop_column("client_id")
    with op.batch_alter_table("export_requests", schema=None) as batch_op:
        batch_op.drop_index("ux_export_requests_user_active")
    op.drop_table("export_requests")
