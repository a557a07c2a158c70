"""label error scores

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 19:20:27.822849
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label_error_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("suspicions", sa.JSON(), nullable=True))
        batch_op.create_index(
            "ix_predictions_version_label_error",
            ["model_version_id", "label_error_score"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_index("ix_predictions_version_label_error")
        batch_op.drop_column("suspicions")
        batch_op.drop_column("label_error_score")
