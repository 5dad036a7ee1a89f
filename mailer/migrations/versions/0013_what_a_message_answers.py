"""outbox rows name their meeting and the message they answer; inbound rows keep what was
understood

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meeting_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("in_reply_to", sa.String(length=998), nullable=True))
        batch_op.create_foreign_key(
            "fk_outbox_message_meeting_id_meeting",
            "meeting",
            ["meeting_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_outbox_message_in_reply_to", ["in_reply_to"])
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("understood", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_column("understood")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_message_in_reply_to")
        batch_op.drop_constraint("fk_outbox_message_meeting_id_meeting", type_="foreignkey")
        batch_op.drop_column("in_reply_to")
        batch_op.drop_column("meeting_id")
