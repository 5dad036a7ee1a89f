"""an organiser can hold a place for someone on the waiting list until a reply-by time

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rsvp", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offered_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rsvp", schema=None) as batch_op:
        batch_op.drop_column("offered_until")
