"""SQLite: organiser ids are never given again (AUTOINCREMENT), so the audit log, which names
organisers by id, never names a later organiser for what a removed one did. PostgreSQL's
sequences never give an id twice.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 19:30:00
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "organiser", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("organiser", recreate="always"):
        pass
