"""member import jobs

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 17:05:22.242392
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum("queued", "done", name="import_status", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("already", sa.Integer(), nullable=False),
        sa.Column("left_earlier", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["mailing_list.id"],
            name=op.f("fk_import_job_list_id_mailing_list"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_job")),
    )


def downgrade() -> None:
    op.drop_table("import_job")
