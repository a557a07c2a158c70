"""Training jobs: queueing a retrain, claiming one job at a time per database, and the workers.

Split out of ``labeling.registry``, which trains one claimed version: this module decides
*which* version trains and *when* (a queued row claimed under a lock, dead workers' rows
failed so the queue moves on, a retrain queued after enough judgements), and calls
``registry.train_version`` for the work itself. Only this module imports the other, so there
is no cycle.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from db.models import Annotation, ModelVersion, utcnow
from db.session import SessionFactory
from labeling import audit
from labeling.config import Settings
from labeling.model import ModelParams
from labeling.registry import train_version

logger = logging.getLogger(__name__)
CLAIM_LOCK_KEY = 4_145_001


def queue_training(
    session: Session, actor: audit.Actor | None, params: ModelParams | None = None
) -> ModelVersion:
    """Queue a retrain; if one is already waiting, that one is returned instead of a second,
    so that impatient clicks do not pile up identical jobs."""
    waiting = session.scalar(
        select(ModelVersion).where(ModelVersion.status == "queued").order_by(ModelVersion.id)
    )
    if waiting is not None:
        return waiting
    version = ModelVersion(
        status="queued",
        params=(params or ModelParams()).to_dict(),
        created_by_id=actor.id if actor is not None else None,
        progress_stage="queued",
    )
    session.add(version)
    session.flush()
    audit.record(session, actor, "train.queue", version=version.id)
    return version


def claim_next_job(
    make_session: SessionFactory, stale_after: timedelta, now: datetime | None = None
) -> int | None:
    """Atomically move the oldest queued job to 'training', unless a live training runs.

    A training whose heartbeat is older than ``stale_after`` belongs to a worker that died:
    it is marked failed so that the queue moves on. SQLite serialises this transaction with
    BEGIN IMMEDIATE; PostgreSQL with a transaction-scoped advisory lock, so two workers on two
    machines never both claim."""
    now = now or utcnow()
    with make_session.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK_KEY})
        session.execute(
            update(ModelVersion)
            .where(ModelVersion.status == "training", ModelVersion.heartbeat_at < now - stale_after)
            .values(
                status="failed",
                error="the training worker stopped without finishing (no heartbeat)",
                finished_at=now,
                progress_stage="failed",
            )
        )
        running = session.scalar(
            select(func.count()).select_from(ModelVersion).where(ModelVersion.status == "training")
        )
        if running:
            return None
        job_id = session.scalar(
            select(ModelVersion.id)
            .where(ModelVersion.status == "queued")
            .order_by(ModelVersion.id)
            .limit(1)
        )
        if job_id is None:
            return None
        claimed = session.execute(
            update(ModelVersion)
            .where(ModelVersion.id == job_id, ModelVersion.status == "queued")
            .values(
                status="training",
                started_at=now,
                heartbeat_at=now,
                worker=this_worker(),
                progress_stage="starting",
                progress_pct=0.0,
            )
        )
        return job_id if claimed.rowcount == 1 else None


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _worker_is_gone(worker: str | None) -> bool:
    """True only when the worker ran on this host and its process no longer exists; a worker
    on another host is left to the heartbeat timeout."""
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def fail_orphaned_trainings(make_session: SessionFactory, now: datetime | None = None) -> list[int]:
    """Mark failed, at once, every training whose worker process on this host is gone (killed,
    crashed), so that the queue moves on without waiting for the heartbeat timeout."""
    now = now or utcnow()
    with make_session.begin() as session:
        running = session.execute(
            select(ModelVersion.id, ModelVersion.worker).where(ModelVersion.status == "training")
        ).all()
        orphans = [version_id for version_id, worker in running if _worker_is_gone(worker)]
        if orphans:
            session.execute(
                update(ModelVersion)
                .where(ModelVersion.id.in_(orphans), ModelVersion.status == "training")
                .values(
                    status="failed",
                    error="the training worker's process is gone (recovered at once)",
                    finished_at=now,
                    progress_stage="failed",
                )
            )
    return orphans


def maybe_queue_retrain(session: Session, every: int) -> ModelVersion | None:
    """Queue a retrain once ``every`` judgements have arrived since the newest version read its
    labels, unless one is already waiting or running: labelling keeps improving the model
    without anyone pressing a button, and without piling up jobs."""
    busy = session.scalar(
        select(func.count())
        .select_from(ModelVersion)
        .where(ModelVersion.status.in_(("queued", "training")))
    )
    if busy:
        return None
    # A version reads the labels when it starts, so judgements before that are in it.
    newest = session.scalar(
        select(func.max(func.coalesce(ModelVersion.started_at, ModelVersion.created_at)))
    )
    new_judgements = select(func.count()).select_from(Annotation)
    if newest is not None:
        new_judgements = new_judgements.where(Annotation.created_at > newest)
    if (session.scalar(new_judgements) or 0) < every:
        return None
    return queue_training(session, None)


def work_once(
    make_session: SessionFactory,
    settings: Settings,
    progress: Callable[[str, float], None] | None = None,
) -> int | None:
    """Claim and run one job; returns its id, or None when there was nothing to do."""
    job = claim_next_job(make_session, timedelta(seconds=settings.training_stale_seconds))
    if job is not None:
        train_version(make_session, job, settings, progress)
    return job


def run_worker(
    make_session: SessionFactory,
    settings: Settings,
    stop: threading.Event,
    poll_seconds: float = 2.0,
) -> None:
    """Poll for queued jobs until ``stop`` is set; used by the app's background thread and by
    ``python -m labeling worker``."""
    while not stop.is_set():
        try:
            ran = work_once(make_session, settings)
        except Exception:  # the database may be briefly unreachable; keep polling
            logger.exception("training worker: claiming a job failed")
            ran = None
        if ran is None:
            stop.wait(poll_seconds)
