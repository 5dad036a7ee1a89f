"""SQLite: inbound ids are never reused (AUTOINCREMENT), and anonymous answers are stored in the
order of their random ids, not of their arrival (WITHOUT ROWID). PostgreSQL needs neither: its
sequences never give an id twice, and its answers are re-ordered as they are stored.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 15:00:00
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "inbound_message", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass
    with op.batch_alter_table(
        "consultation_answer", recreate="always", table_kwargs={"sqlite_with_rowid": False}
    ):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("consultation_answer", recreate="always"):
        pass
    with op.batch_alter_table("inbound_message", recreate="always"):
        pass
