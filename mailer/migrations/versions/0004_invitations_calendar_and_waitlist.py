"""invitations calendar and waitlist

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 14:34:12.541889
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_calendar", sa.Text(), nullable=True))

    with op.batch_alter_table("rsvp", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waitlisted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rsvp", schema=None) as batch_op:
        batch_op.drop_column("waitlisted_at")

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("body_calendar")

    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_column("invited_at")
