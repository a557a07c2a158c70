"""resolution method

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 19:53:32.992266
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resolutions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("method", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("accepted_user_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_resolutions_accepted_user_id_users"),
            "users",
            ["accepted_user_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("resolutions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_resolutions_accepted_user_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("accepted_user_id")
        batch_op.drop_column("method")
