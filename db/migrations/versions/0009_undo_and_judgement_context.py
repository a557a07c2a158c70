"""undo links, project tags and "no tag applies" on judgements

Revision ID: 0009
Revises: 0005
Create Date: 2026-11-30 05:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("undoes_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("project_tags", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("no_tag_applies", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(batch_op.f("ix_annotations_undoes_id"), ["undoes_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_annotations_undoes_id_annotations"), "annotations", ["undoes_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_annotations_undoes_id_annotations"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_annotations_undoes_id"))
        batch_op.drop_column("no_tag_applies")
        batch_op.drop_column("project_tags")
        batch_op.drop_column("undoes_id")
