"""accounts lifecycle, full-text search over projects, review requests

Revision ID: 0008
Revises: 0007

Search is built by each database's own engine, outside the ORM (see db.models.SEARCH_TABLE):
SQLite gets an FTS5 table with external content (the projects table), kept in sync by
triggers so that every path that writes a project (import, update, delete) updates the index
in the same transaction; PostgreSQL gets a stored generated tsvector column (title weighted A,
description B) with a GIN index, which the database keeps current by itself.

Note for later SQLite migrations: a batch_alter_table on "projects" recreates the table and
drops its triggers; such a migration must re-run ``_create_sqlite_search``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE projects_fts USING fts5("
    "title, description, content='projects', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER projects_fts_insert AFTER INSERT ON projects BEGIN "
    "INSERT INTO projects_fts(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "CREATE TRIGGER projects_fts_delete AFTER DELETE ON projects BEGIN "
    "INSERT INTO projects_fts(projects_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); END",
    "CREATE TRIGGER projects_fts_update AFTER UPDATE OF title, description ON projects BEGIN "
    "INSERT INTO projects_fts(projects_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); "
    "INSERT INTO projects_fts(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "INSERT INTO projects_fts(projects_fts) VALUES ('rebuild')",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS projects_fts_update",
    "DROP TRIGGER IF EXISTS projects_fts_delete",
    "DROP TRIGGER IF EXISTS projects_fts_insert",
    "DROP TABLE IF EXISTS projects_fts",
)
POSTGRES_SEARCH = (
    "ALTER TABLE projects ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'B')) STORED",
    "CREATE INDEX ix_projects_search_vector ON projects USING gin (search_vector)",
)
POSTGRES_DROP = (
    "DROP INDEX IF EXISTS ix_projects_search_vector",
    "ALTER TABLE projects DROP COLUMN IF EXISTS search_vector",
)


def _run(statements: tuple[str, ...]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    op.create_table(
        "review_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_review_requests_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_review_requests_requested_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_requests")),
    )
    with op.batch_alter_table("review_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_requests_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index("ix_review_requests_project", ["project_id", "id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        _run(SQLITE_SEARCH)
    else:
        _run(POSTGRES_SEARCH)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _run(SQLITE_DROP)
    else:
        _run(POSTGRES_DROP)
    with op.batch_alter_table("review_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_review_requests_project")
        batch_op.drop_index(batch_op.f("ix_review_requests_created_at"))
    op.drop_table("review_requests")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
