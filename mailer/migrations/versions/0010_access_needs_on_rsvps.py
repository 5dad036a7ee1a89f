"""access needs on RSVPs

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 16:49:34.657690
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rsvp", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access_needs", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rsvp", schema=None) as batch_op:
        batch_op.drop_column("access_needs")
