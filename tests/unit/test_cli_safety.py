"""Command-line behaviour that keeps operations safe: no password in printed database URLs,
and `train` says what it waits for and recovers a training whose process is gone."""

from __future__ import annotations

import io as std_io
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from db.models import ModelVersion, utcnow
from db.session import SessionFactory
from labeling import cli, training_jobs
from labeling.config import Settings


def run(*argv: str) -> tuple[int, str]:
    out = std_io.StringIO()
    return cli.main(list(argv), out), out.getvalue()


def test_masked_url_hides_the_password() -> None:
    url = "postgresql+psycopg://labelloop:s3cr3t-pw@db.example:5432/labelloop"
    assert cli.masked_url(url) == "postgresql+psycopg://labelloop:***@db.example:5432/labelloop"
    assert cli.masked_url("sqlite:////data/labelloop.db") == "sqlite:////data/labelloop.db"


def test_init_prints_the_database_url_without_its_password(
    cli_env: Settings, make_session: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_url = "postgresql+psycopg://labelloop:s3cr3t-pw@db.example/labelloop"
    monkeypatch.setenv("LABELLOOP_DATABASE_URL", secret_url)
    monkeypatch.setattr(cli, "open_database", lambda settings: make_session)
    code, output = run("init")
    assert code == 0
    assert output.startswith(
        "database: postgresql+psycopg://labelloop:***@db.example/labelloop (schema at"
    )
    assert "s3cr3t-pw" not in output


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _training_in(make_session: SessionFactory, worker: str) -> int:
    with make_session.begin() as session:
        version = ModelVersion(
            status="training",
            worker=worker,
            started_at=utcnow(),
            heartbeat_at=utcnow(),
            progress_stage="fit",
            progress_pct=40.0,
        )
        session.add(version)
        session.flush()
        return version.id


def test_train_recovers_at_once_a_training_whose_process_is_gone(
    cli_env: Settings, make_session: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    orphan = _training_in(make_session, f"{socket.gethostname()}:{_dead_pid()}")
    code, _ = run("train")
    assert code in (0, 1)  # an empty catalogue cannot train; what matters is it did not wait
    assert (
        f"model version {orphan} was training in a process that is gone: failed it"
        in capsys.readouterr().err
    )
    with make_session() as session:
        statuses = dict(session.execute(select(ModelVersion.id, ModelVersion.status)).all())
        error = session.get(ModelVersion, orphan).error  # type: ignore[union-attr]
    assert statuses[orphan] == "failed"
    assert error == "the training worker's process is gone (recovered at once)"
    assert statuses[orphan + 1] in ("ready", "failed")


def test_a_live_or_remote_worker_is_not_recovered(make_session: SessionFactory) -> None:
    live = _training_in(make_session, training_jobs.this_worker())
    _training_in(make_session, f"another-host:{_dead_pid()}")
    assert training_jobs.fail_orphaned_trainings(make_session) == []
    with make_session() as session:
        assert session.get(ModelVersion, live).status == "training"  # type: ignore[union-attr]


def test_the_waiting_message_names_the_training_and_when_it_is_given_up(
    make_session: SessionFactory, settings: Settings
) -> None:
    running = _training_in(make_session, "host-a:4242")
    with make_session.begin() as session:
        queued = training_jobs.queue_training(session, None).id
        started = session.get(ModelVersion, running).started_at  # type: ignore[union-attr]
    with make_session() as session:
        message = cli.waiting_message(session, queued, settings)
    assert message == (
        f"waiting for model version {running}, training in host-a:4242 since "
        f"{started:%H:%M:%S} UTC (fit, 40%); it is given up if it sends no heartbeat for 600 s "
        "(LABELLOOP_TRAINING_STALE_SECONDS), or at once if its process on this machine is gone"
    )
    with make_session.begin() as session:
        session.get(ModelVersion, running).status = "failed"  # type: ignore[union-attr]
        later = ModelVersion(status="queued")
        session.add(later)
        session.flush()
        later_id = later.id
    with make_session() as session:
        assert cli.waiting_message(session, later_id, settings) == (
            f"waiting for queued model versions {queued} to run first"
        )
        assert cli.waiting_message(session, queued, settings) == (
            f"model version {queued} is next; starting it"
        )
    assert timedelta(seconds=settings.training_stale_seconds) == timedelta(minutes=10)
