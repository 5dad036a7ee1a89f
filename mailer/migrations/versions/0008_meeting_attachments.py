"""meeting attachments

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 14:47:07.315138
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meeting_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_attachment_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_attachment")),
    )
    with op.batch_alter_table("meeting_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_attachment_meeting_id"), ["meeting_id"], unique=False
        )

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachment_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("attachment_ids")

    with op.batch_alter_table("meeting_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_attachment_meeting_id"))

    op.drop_table("meeting_attachment")
