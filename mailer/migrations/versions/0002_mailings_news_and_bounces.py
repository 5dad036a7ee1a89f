"""mailings news and bounces

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:33:27.767536
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["mailing_list.id"],
            name=op.f("fk_mailing_list_id_mailing_list"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailing")),
    )
    op.create_table(
        "news",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_markdown", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "scheduled",
                "sent",
                "cancelled",
                name="news_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mailing_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["organiser.id"],
            name=op.f("fk_news_created_by_organiser"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["mailing_list.id"],
            name=op.f("fk_news_list_id_mailing_list"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mailing_id"],
            ["mailing.id"],
            name=op.f("fk_news_mailing_id_mailing"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_news")),
    )
    with op.batch_alter_table("news", schema=None) as batch_op:
        batch_op.create_index("ix_news_status_scheduled", ["status", "scheduled_at"], unique=False)

    op.create_table(
        "bounce_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("hard", "soft", name="bounce_kind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("diagnostic", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox_message.id"],
            name=op.f("fk_bounce_event_outbox_id_outbox_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_bounce_event_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounce_event")),
    )
    with op.batch_alter_table("bounce_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bounce_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_bounce_event_person_id"), ["person_id"], unique=False)

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mailing_id", sa.Integer(), nullable=True))
        batch_op.alter_column("subject", existing_type=sa.VARCHAR(length=998), nullable=True)
        batch_op.alter_column("body_text", existing_type=sa.TEXT(), nullable=True)
        batch_op.alter_column("headers", existing_type=sa.JSON(), nullable=True)
        batch_op.create_index(
            batch_op.f("ix_outbox_message_mailing_id"), ["mailing_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbox_message_sent_at"), ["sent_at"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_message_mailing_id_mailing"),
            "mailing",
            ["mailing_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("bounce_score", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_column("bounce_score")

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_message_mailing_id_mailing"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_outbox_message_sent_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_message_mailing_id"))
        batch_op.alter_column("headers", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("body_text", existing_type=sa.TEXT(), nullable=False)
        batch_op.alter_column("subject", existing_type=sa.VARCHAR(length=998), nullable=False)
        batch_op.drop_column("mailing_id")

    with op.batch_alter_table("bounce_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bounce_event_person_id"))
        batch_op.drop_index(batch_op.f("ix_bounce_event_at"))

    op.drop_table("bounce_event")
    with op.batch_alter_table("news", schema=None) as batch_op:
        batch_op.drop_index("ix_news_status_scheduled")

    op.drop_table("news")
    op.drop_table("mailing")
