"""meeting agenda and schedules

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 14:37:28.223235
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agenda", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("agenda_days_before", sa.Integer(), server_default="7", nullable=False)
        )
        batch_op.add_column(sa.Column("agenda_sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_column("reminder_sent_at")
        batch_op.drop_column("agenda_sent_at")
        batch_op.drop_column("agenda_days_before")
        batch_op.drop_column("agenda")
