"""session handoffs: one-time codes that let an HTTP route set the HttpOnly session cookie

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 11:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_handoffs",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("sealed_token", sa.String(length=256), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["user_sessions.id"],
            name=op.f("fk_session_handoffs_session_id_user_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_session_handoffs")),
    )
    with op.batch_alter_table("session_handoffs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_handoffs_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_session_handoffs_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("session_handoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_handoffs_expires_at"))
        batch_op.drop_index(batch_op.f("ix_session_handoffs_session_id"))
    op.drop_table("session_handoffs")
