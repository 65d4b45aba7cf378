"""client duplicate key: likely duplicates (same name and company) are one index probe

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 10_000


def upgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dup_key", sa.String(length=32), nullable=True))
    _fill_keys()
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.create_index("ix_clients_dup_key", ["dup_key", "owner_id"], unique=False)


def _fill_keys() -> None:
    """Existing clients get their key from the same function the app uses when it writes one."""
    from services.search import duplicate_key

    conn = op.get_bind()
    clients = sa.table(
        "clients", sa.column("id"), sa.column("name"), sa.column("company"), sa.column("dup_key")
    )
    update = clients.update().where(clients.c.id == sa.bindparam("cid")).values(dup_key=sa.bindparam("key"))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(clients.c.id, clients.c.name, clients.c.company)
            .where(clients.c.id > last)
            .order_by(clients.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        keys = [
            {"cid": cid, "key": key} for cid, name, company in rows if (key := duplicate_key(name, company))
        ]
        if keys:
            conn.execute(update, keys)
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index("ix_clients_dup_key")
        batch_op.drop_column("dup_key")
