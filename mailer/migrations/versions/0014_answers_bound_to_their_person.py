"""anonymous consultation answers keep one answer per respondent, under a keyed digest; requests
that count towards a limit

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "limited_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_limited_request")),
    )
    op.create_index("ix_limited_request_key_at", "limited_request", ["key", "at"])
    op.create_index(op.f("ix_limited_request_at"), "limited_request", ["at"])
    with op.batch_alter_table("consultation_answer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("respondent", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_consultation_answer_consultation_respondent", ["consultation_id", "respondent"]
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_limited_request_at"), table_name="limited_request")
    op.drop_index("ix_limited_request_key_at", table_name="limited_request")
    op.drop_table("limited_request")
    with op.batch_alter_table("consultation_answer", schema=None) as batch_op:
        batch_op.drop_index("ix_consultation_answer_consultation_respondent")
        batch_op.drop_column("respondent")
