"""news to a meeting's delegates (all, in person or remote), not only to a whole list

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("news", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "audience",
                sa.Enum(
                    "members",
                    "delegates",
                    "in_person",
                    "remote",
                    name="news_audience",
                    native_enum=False,
                    length=20,
                ),
                server_default="members",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("meeting_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_news_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_news_meeting_id_meeting"),
            "meeting",
            ["meeting_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("news", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_news_meeting_id_meeting"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_news_meeting_id"))
        batch_op.drop_column("meeting_id")
        batch_op.drop_column("audience")
