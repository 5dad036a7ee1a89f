"""organisers choose to be emailed when something needs them: at once, daily or never

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organiser", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "notices",
                sa.Enum(
                    "never", "at_once", "daily", name="notice_choice", native_enum=False, length=20
                ),
                server_default="never",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organiser", schema=None) as batch_op:
        batch_op.drop_column("noticed_at")
        batch_op.drop_column("notices")
