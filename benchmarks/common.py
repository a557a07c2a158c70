"""Set-up shared by the benchmarks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from db.session import SessionFactory, engine_for, session_factory, upgrade_to_head
from labeling import io
from labeling.config import Settings, load_settings
from labeling.synthetic import MessyCatalogue, demo_taxonomy, synthetic_catalogue

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def trained_demo() -> Iterator[tuple[Settings, SessionFactory]]:
    """The demo as a new user has it after ``make run`` plus one training: ``python -m
    labeling init --demo --train`` in a temporary data directory, through the CLI so that the
    benchmark measures what a user gets. Yields its settings and a session factory; the
    directory is removed on exit."""
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "LABELLOOP_DATA_DIR": data_dir}
        env.pop("LABELLOOP_DATABASE_URL", None)
        subprocess.run(
            [sys.executable, "-m", "labeling", "init", "--demo", "--train"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        settings = load_settings(env)
        yield settings, session_factory(engine_for(settings.database_url))


def synthetic_database(
    workdir: Path, size: int, database_url: str | None = None
) -> tuple[Settings, SessionFactory]:
    """A fresh SQLite database in ``workdir`` (or the empty database at ``database_url``)
    holding a synthetic catalogue of ``size`` projects and the demo taxonomy, imported the way
    the CLI imports."""
    settings = Settings(
        database_url=database_url or f"sqlite:///{workdir}/bench.db", data_dir=workdir
    )
    make_session = session_factory(engine_for(settings.database_url))
    upgrade_to_head(make_session.engine)
    projects = io.parse_projects(json.dumps(synthetic_catalogue(size)).encode(), "syn.json")
    taxonomy = io.parse_taxonomy(json.dumps(demo_taxonomy()).encode(), "taxonomy.json")
    with make_session.begin() as session:
        io.import_catalogue(session, projects, "syn.json", "json", taxonomy=taxonomy)
    return settings, make_session


def messy_database(workdir: Path, catalogue: MessyCatalogue) -> SessionFactory:
    """A fresh SQLite database in ``workdir`` holding a generated messy catalogue, imported as
    the Data page imports by default (unknown tags kept as candidates, warnings not fatal)."""
    make_session = session_factory(engine_for(f"sqlite:///{workdir}/bench.db"))
    upgrade_to_head(make_session.engine)
    warnings: list[io.RowWarning] = []
    projects = io.parse_projects(
        json.dumps(catalogue.projects).encode(), "projects.json", warnings=warnings
    )
    taxonomy = io.parse_taxonomy(json.dumps(catalogue.taxonomy).encode(), "tags.json", warnings)
    with make_session.begin() as session:
        io.import_catalogue(
            session, projects, "projects.json", "json", unknown_tags="candidate",
            taxonomy=taxonomy, warnings=warnings,
        )  # fmt: skip
    return make_session
