"""meeting series

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 14:42:19.282046
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meeting_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("rrule", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["mailing_list.id"],
            name=op.f("fk_meeting_series_list_id_mailing_list"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_series")),
    )
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_meeting_series_id_meeting_series"),
            "meeting_series",
            ["series_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_meeting_series_id_meeting_series"), type_="foreignkey"
        )
        batch_op.drop_column("series_id")

    op.drop_table("meeting_series")
