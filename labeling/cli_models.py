"""``python -m labeling train | models | drift | worker``: the model-version commands (train and
wait in the queue, list/show/compare/promote, what is new in an import against the serving
version, the training worker).

Split out of ``cli`` (the project rule: a module past ~600 lines is split by subject).
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import ModelVersion
from labeling import (
    assessment,
    baseline,
    drift,
    model_report,
    promotion,
    registry,
    training_jobs,
    version_summaries,
)
from labeling.cli_common import UsageError, open_database, print_progress, progress, to_json
from labeling.config import Settings


def cmd_train(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Queue a training and run it here, waiting for any training already running elsewhere
    (the queue runs one at a time per database). While it waits it says for what, and a
    training whose process on this machine is gone is recovered at once."""
    make_session = open_database(settings)
    with make_session.begin() as session:
        version_id = training_jobs.queue_training(session, None).id
    progress(f"queued model version {version_id}")
    said = ""
    while True:
        with make_session() as session:
            version = session.get(ModelVersion, version_id)
            assert version is not None
            if version.status in ("ready", "failed"):
                details = version_summaries.version_details(version)
                break
        for orphan in training_jobs.fail_orphaned_trainings(make_session):
            progress(f"model version {orphan} was training in a process that is gone: failed it")
        if training_jobs.work_once(make_session, settings, print_progress) is None:
            with make_session() as session:
                waiting = waiting_message(session, version_id, settings)
            if waiting != said:
                progress(waiting)
                said = waiting
            time.sleep(1.0)
    if args.json:
        out.write(to_json(details) + "\n")
    else:
        out.write(model_report.version_text(details))
    return 0 if details["status"] == "ready" else 1


def waiting_message(session: Session, version_id: int, settings: Settings) -> str:
    """What a queued training waits for: the training running now (which worker, since when,
    how far) and when it would be given up, or the versions queued before it."""
    running = session.scalars(
        select(ModelVersion).where(ModelVersion.status == "training").order_by(ModelVersion.id)
    ).first()
    if running is None:
        ahead = session.scalars(
            select(ModelVersion.id)
            .where(ModelVersion.status == "queued", ModelVersion.id < version_id)
            .order_by(ModelVersion.id)
        ).all()
        if not ahead:
            return f"model version {version_id} is next; starting it"
        return f"waiting for queued model versions {', '.join(map(str, ahead))} to run first"
    started = f"{running.started_at:%H:%M:%S} UTC" if running.started_at else "an unknown time"
    return (
        f"waiting for model version {running.id}, training in {running.worker or 'a worker'} "
        f"since {started} ({running.progress_stage}, {running.progress_pct:.0f}%); it is given "
        f"up if it sends no heartbeat for {settings.training_stale_seconds} s "
        "(LABELLOOP_TRAINING_STALE_SECONDS), or at once if its process on this machine is gone"
    )


def cmd_models(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    make_session = open_database(settings)
    if args.models_command == "promote":
        return _promote(make_session, args.version, args.note, settings, out)
    with make_session() as session:
        serving = registry.current_version(session)
        if args.models_command == "list":
            data: Any = [
                version_summaries.version_summary(v)
                | {"serving": serving is not None and v.id == serving.id}
                for v in registry.list_versions(session)
            ]
            data.append(model_report.rules_summary(serving))
            text_ = model_report.versions_table(data)
        elif args.models_command == "show" and args.version == baseline.VERSION:
            data = model_report.rules_details(serving)
            text_ = model_report.rules_text(data)
        elif args.models_command == "show":
            data = version_summaries.version_details(_version(session, args.version))
            text_ = model_report.version_text(data)
        else:
            for version_id in (args.a, args.b):
                if version_id != baseline.VERSION:
                    _version(session, version_id)
            try:
                data = assessment.compare_versions(
                    session, args.a, args.b, settings.trust_source_tags, settings.min_eval_support
                )
            except assessment.ComparisonError as error:
                raise UsageError(str(error)) from None
            text_ = model_report.paired_text(data)
    out.write(to_json(data) + "\n" if args.json else text_)
    return 0


def _promote(
    make_session: Callable[[], Session],
    version_id: int,
    note: str,
    settings: Settings,
    out: TextIO,
) -> int:
    """Serve version N (promote or roll back); serving, suggestions and label-error order
    follow it at once. Audited as the command line."""
    try:
        with make_session.begin() as session:  # type: ignore[attr-defined]
            message = promotion.promote(session, version_id, None, note, settings)
    except promotion.PromotionError as error:
        raise UsageError(str(error)) from None
    out.write(f"version {version_id} serves: {message}\n")
    return 0


def cmd_drift(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """What is new in an import, against the serving model version (labeling.drift)."""
    make_session = open_database(settings)
    with make_session() as session:
        version = registry.current_version(session)
        if version is None or not version.artifact_path:
            raise UsageError("no model version serves yet; train one: python -m labeling train")
        try:
            report = drift.batch_report(
                session, args.batch, registry.load_artifact(version.artifact_path), version
            )
        except drift.DriftError as error:
            raise UsageError(str(error)) from None
    out.write(to_json(report) + "\n" if args.json else drift.report_text(report))
    return 0


def _version(session: Session, version_id: int) -> ModelVersion:
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise UsageError(f"no model version {version_id}; see: python -m labeling models list")
    return version


def cmd_worker(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    make_session = open_database(settings)
    if args.once:
        job = training_jobs.work_once(make_session, settings, print_progress)
        out.write(f"ran model version {job}\n" if job else "no queued training\n")
        return 0
    progress(f"worker polling every {args.poll} s for queued trainings (Ctrl-C stops)")
    stop = threading.Event()
    try:
        training_jobs.run_worker(make_session, settings, stop, args.poll)
    except KeyboardInterrupt:
        stop.set()
    return 0
