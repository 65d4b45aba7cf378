"""clients: drop ix_client_search_terms_client_id, which the unique (client_id, term) already covers

Every client written (by hand or ~13 terms a client in an import) paid for both indexes.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 07:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_client_search_terms_client_id", table_name="client_search_terms")


def downgrade() -> None:
    op.create_index("ix_client_search_terms_client_id", "client_search_terms", ["client_id"])
