"""inbound messages keep what the worker read; intent is one of a fixed set

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_INTENTS = (
    "register",
    "decline",
    "join",
    "leave",
    "help",
    "confirm",
    "calendar",
    "answer",
    "bounce",
    "duplicate",
    "automated",
    "refused",
    "unclear",
)


def upgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("sender_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("subject", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("new_text", sa.Text(), server_default="", nullable=False))
    # "Nothing understood yet" was an empty string; it is now no value at all.
    op.execute(sa.text("UPDATE inbound_message SET intent = NULL WHERE intent = ''"))
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.alter_column(
            "intent",
            existing_type=sa.String(length=20),
            type_=sa.Enum(*_INTENTS, name="inbound_intent", native_enum=False, length=20),
            nullable=True,
            server_default=None,
        )


def downgrade() -> None:
    op.execute(sa.text("UPDATE inbound_message SET intent = '' WHERE intent IS NULL"))
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.alter_column(
            "intent",
            existing_type=sa.String(length=20),
            type_=sa.String(length=20),
            nullable=False,
            server_default="",
        )
        batch_op.drop_column("new_text")
        batch_op.drop_column("subject")
        batch_op.drop_column("sender_name")
        batch_op.drop_column("sender")
