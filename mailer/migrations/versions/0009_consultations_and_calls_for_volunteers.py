"""consultations and calls for volunteers

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 16:03:26.566921
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consultation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "question", "volunteers", name="consultation_kind", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("question_markdown", sa.Text(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "draft", "open", "closed", name="consultation_status", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["mailing_list.id"],
            name=op.f("fk_consultation_list_id_mailing_list"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation")),
    )
    with op.batch_alter_table("consultation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consultation_list_id"), ["list_id"], unique=False)

    op.create_table(
        "consultation_answer",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_consultation_answer_consultation_id_consultation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_consultation_answer_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_answer")),
    )
    with op.batch_alter_table("consultation_answer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consultation_answer_consultation_received",
            ["consultation_id", "received_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_consultation_answer_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "volunteer_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("aliases", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_volunteer_role_consultation_id_consultation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volunteer_role")),
    )
    with op.batch_alter_table("volunteer_role", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_volunteer_role_consultation_id"), ["consultation_id"], unique=False
        )

    op.create_table(
        "answer_tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.String(length=32), nullable=False),
        sa.Column("tag", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["consultation_answer.id"],
            name=op.f("fk_answer_tag_answer_id_consultation_answer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_tag")),
        sa.UniqueConstraint("answer_id", "tag", name=op.f("uq_answer_tag_answer_id_tag")),
    )
    with op.batch_alter_table("answer_tag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answer_tag_answer_id"), ["answer_id"], unique=False)

    op.create_table(
        "volunteer_offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("offered", "accepted", name="offer_status", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_volunteer_offer_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["volunteer_role.id"],
            name=op.f("fk_volunteer_offer_role_id_volunteer_role"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volunteer_offer")),
        sa.UniqueConstraint(
            "role_id", "person_id", name=op.f("uq_volunteer_offer_role_id_person_id")
        ),
    )
    with op.batch_alter_table("volunteer_offer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_volunteer_offer_person_id"), ["person_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("volunteer_offer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volunteer_offer_person_id"))

    op.drop_table("volunteer_offer")
    with op.batch_alter_table("answer_tag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_tag_answer_id"))

    op.drop_table("answer_tag")
    with op.batch_alter_table("volunteer_role", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volunteer_role_consultation_id"))

    op.drop_table("volunteer_role")
    with op.batch_alter_table("consultation_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultation_answer_person_id"))
        batch_op.drop_index("ix_consultation_answer_consultation_received")

    op.drop_table("consultation_answer")
    with op.batch_alter_table("consultation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultation_list_id"))

    op.drop_table("consultation")
