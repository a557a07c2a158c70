"""model promotion and stored evaluation predictions

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("promoted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("promotion", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("eval_predictions", sa.JSON(), nullable=True))
    # The version that served before this migration (the newest ready one) keeps serving.
    op.execute(
        "UPDATE model_versions SET promoted_at = finished_at WHERE id = "
        "(SELECT max(id) FROM model_versions WHERE status = 'ready')"
    )


def downgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_column("eval_predictions")
        batch_op.drop_column("promotion")
        batch_op.drop_column("promoted_at")
