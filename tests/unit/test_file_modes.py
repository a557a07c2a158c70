"""Local files hold password hashes and models trained on the catalogue: they are created
readable by their owner only (files 0600, directories 0700), whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from db.session import new_engine, upgrade_to_head
from labeling.registry import write_artifact_atomically


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual 022 umask, under which files were created 0644."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_sqlite_database_its_wal_and_shm_and_new_dirs_are_private(
    tmp_path: Path, open_umask: None
) -> None:
    database = tmp_path / "data" / "nested" / "labelloop.db"
    engine = new_engine(f"sqlite:///{database}")
    upgrade_to_head(engine)
    with engine.connect() as connection:
        connection.execute(text("SELECT count(*) FROM users"))
        wal = Path(f"{database}-wal")
        shm = Path(f"{database}-shm")
        assert wal.exists() and shm.exists()
        assert (mode(database), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
    engine.dispose()
    assert mode(tmp_path / "data") == 0o700
    assert mode(tmp_path / "data" / "nested") == 0o700


def test_an_existing_directory_keeps_its_mode(tmp_path: Path, open_umask: None) -> None:
    tmp_path.chmod(0o755)
    engine = new_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    engine.dispose()
    assert (mode(tmp_path), mode(tmp_path / "x.db")) == (0o755, 0o600)


def test_model_artifacts_and_their_directory_are_private(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "data" / "models" / "model-1.joblib"
    write_artifact_atomically({"weights": [1, 2]}, path)  # type: ignore[arg-type]
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert mode(path.parent.parent) == 0o700
