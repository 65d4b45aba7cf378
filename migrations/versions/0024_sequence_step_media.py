"""A drip step as a broadcast's message: an optional photo or document (its texts then captions) and
URL buttons.

Revision ID: 0024
Revises: 0023
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sequence_steps") as batch:
        batch.add_column(sa.Column("media_kind", sa.String(16), nullable=True))
        batch.add_column(sa.Column("media_file_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("buttons", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sequence_steps") as batch:
        batch.drop_column("buttons")
        batch.drop_column("media_file_id")
        batch.drop_column("media_kind")
