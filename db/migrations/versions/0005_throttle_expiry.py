"""sign-in throttle expiry (when a name last failed, so old rows can be dropped) and the
worker running a training (so a training whose worker process is gone is recovered at once)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 04:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sign_in_throttle", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_failure_at", sa.DateTime(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_sign_in_throttle_last_failure_at"), ["last_failure_at"], unique=False
        )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_column("worker")
    with op.batch_alter_table("sign_in_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_throttle_last_failure_at"))
        batch_op.drop_column("last_failure_at")
