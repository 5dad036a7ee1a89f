"""organisers run chosen lists; admins can disable an organiser

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organiser", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "organiser_list",
        sa.Column("organiser_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["organiser_id"], ["organiser.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["list_id"], ["mailing_list.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organiser_id", "list_id"),
    )
    op.create_index("ix_organiser_list_list_id", "organiser_list", ["list_id"])


def downgrade() -> None:
    op.drop_index("ix_organiser_list_list_id", table_name="organiser_list")
    op.drop_table("organiser_list")
    with op.batch_alter_table("organiser", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
