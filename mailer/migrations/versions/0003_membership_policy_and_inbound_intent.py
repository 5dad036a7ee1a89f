"""membership policy and inbound intent

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 14:24:10.185603
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("intent", sa.String(length=20), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("list_slug", sa.String(length=64), nullable=True))

    with op.batch_alter_table("mailing_list", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("trust_dmarc", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("allowed_sender_domains", sa.Text(), server_default="", nullable=False)
        )

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_message_recipient_created", ["recipient", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_message_recipient_created")

    with op.batch_alter_table("mailing_list", schema=None) as batch_op:
        batch_op.drop_column("allowed_sender_domains")
        batch_op.drop_column("trust_dmarc")

    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_column("list_slug")
        batch_op.drop_column("intent")
