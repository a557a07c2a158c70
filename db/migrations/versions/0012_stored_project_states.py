"""stored project states, effective and predicted tags; audit events indexed by project

Revision ID: 0012
Revises: 0011

The Projects page's filters read each project's status and effective label from tables kept
by labeling.project_state instead of deriving them per search, and the predicted-tag filter
reads a normalized table instead of a JSON column. The backfill derives the stored rows with
the application's own rule (labeling.project_state.rebuild_project_states) and the predicted
tags from each kept version's predictions and thresholds. No batch_alter_table on
"projects": the SQLite search triggers of 0008 stay in place.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_states",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("label_source", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_states_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_project_states")),
    )
    op.create_index(op.f("ix_project_states_status"), "project_states", ["status"])
    op.create_table(
        "effective_tags",
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_effective_tags_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tag", "project_id", name=op.f("pk_effective_tags")),
    )
    op.create_index(op.f("ix_effective_tags_project_id"), "effective_tags", ["project_id"])
    op.create_table(
        "predicted_tags",
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_predicted_tags_model_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_predicted_tags_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "model_version_id", "tag", "project_id", name=op.f("pk_predicted_tags")
        ),
    )
    op.create_index(op.f("ix_predicted_tags_project_id"), "predicted_tags", ["project_id"])
    op.add_column("audit_events", sa.Column("project_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_audit_events_project_id"), "audit_events", ["project_id"])
    _backfill()


def _backfill() -> None:
    from labeling.project_state import rebuild_project_states, store_predicted_tags

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "UPDATE audit_events SET project_id = json_extract(details, '$.project_id') "
            "WHERE json_type(details, '$.project_id') = 'integer'"
        )
    else:
        op.execute(
            "UPDATE audit_events SET project_id = (details->>'project_id')::integer "
            "WHERE json_typeof(details->'project_id') = 'number'"
        )
    session = Session(bind=bind)
    rebuild_project_states(session)
    versions = sa.table("model_versions", sa.column("id"), sa.column("thresholds", sa.JSON))
    predictions = sa.table(
        "predictions",
        sa.column("model_version_id"),
        sa.column("project_id"),
        sa.column("probabilities", sa.JSON),
    )
    for version_id, thresholds in session.execute(sa.select(versions.c.id, versions.c.thresholds)):
        rows = session.execute(
            sa.select(predictions.c.project_id, predictions.c.probabilities).where(
                predictions.c.model_version_id == version_id
            )
        ).mappings()
        store_predicted_tags(session, version_id, list(rows), thresholds or {})
    session.flush()


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_events_project_id"), table_name="audit_events")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("project_id")
    op.drop_index(op.f("ix_predicted_tags_project_id"), table_name="predicted_tags")
    op.drop_table("predicted_tags")
    op.drop_index(op.f("ix_effective_tags_project_id"), table_name="effective_tags")
    op.drop_table("effective_tags")
    op.drop_index(op.f("ix_project_states_status"), table_name="project_states")
    op.drop_table("project_states")
