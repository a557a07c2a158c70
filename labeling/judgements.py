"""Recording judgements: an annotator's submit or skip (no Streamlit here).

It lives apart from labeling.serving (choosing the next project and leasing it) because
writing a judgement is its own subject; the two share the serving lock (serialise_serving), so
that a seat is counted and taken in turn with serving on PostgreSQL too.

Why it is shaped like this:

* A submit holds a seat under the overlap cap: a live lease is one; without it (the lease ran
  out in a slow or stale tab) the submit is accepted only while the project has a free seat,
  and refused with ReservationLost otherwise, so a stale tab never makes k+1 annotators.
* Every write is idempotent by a client-made submission key, because a double click or a
  second browser tab must create one judgement, not two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Annotation, Lease, Tag, utcnow
from db.session import SessionFactory
from labeling.annotations import check_tag_choice
from labeling.project_state import refresh_project_states
from labeling.serving import is_label, serialise_serving, source_tags
from labeling.serving_policy import ServingPolicy


class ReservationLost(ValueError):
    """A submit whose lease ran out while the project's seats under the overlap cap were taken
    by others: accepting it would give the project more annotators than the cap allows."""


def submit(
    make_session: SessionFactory,
    user_id: int,
    project_id: int,
    tags: Iterable[str],
    shown_tags: Iterable[str],
    model_version_id: int | None,
    seconds_spent: float | None,
    submission_key: str | None,
    *,
    no_tag_applies: bool = False,
    settings_like: Any = None,
    now: datetime | None = None,
) -> int:
    """Store the user's complete tag set for the project and release their lease; returns the
    annotation id. The same submission key twice returns the first id and writes nothing.

    An empty set needs ``no_tag_applies`` (labeling.annotations.check_tag_choice); a submit
    without a live lease needs a free seat under the overlap cap (ReservationLost)."""
    chosen = sorted(set(tags))
    shown = sorted(set(shown_tags))
    check_tag_choice(chosen, no_tag_applies, "submit an empty judgement")
    policy = ServingPolicy.of(settings_like)

    def write(session: Session) -> Annotation:
        _check_tags(session, chosen)
        _check_seat(session, user_id, project_id, policy, now or utcnow())
        return Annotation(
            project_id=project_id,
            user_id=user_id,
            tags=chosen,
            shown_tags=shown,
            added=sorted(set(chosen) - set(shown)),
            removed=sorted(set(shown) - set(chosen)),
            model_version_id=model_version_id,
            seconds_spent=seconds_spent,
            skipped=False,
            submission_key=submission_key,
            project_tags=list(source_tags(session, project_id)),
            no_tag_applies=no_tag_applies,
        )

    appended = _append_once(make_session, user_id, submission_key, write)
    assert appended is not None
    return appended


def skip(
    make_session: SessionFactory,
    user_id: int,
    project_id: int,
    reason: str | None,
    model_version_id: int | None,
    submission_key: str | None,
    shown_tags: Iterable[str] = (),
) -> int:
    """Record that the user passed on the project (no label) and release their lease, so that
    it is not served to them again but still counts as unlabelled for everyone else.
    ``shown_tags`` (what the tag box held) is kept so that undoing the skip shows it again."""

    def write(session: Session) -> Annotation:
        return Annotation(
            project_id=project_id,
            user_id=user_id,
            tags=[],
            shown_tags=sorted(set(shown_tags)),
            added=[],
            removed=[],
            model_version_id=model_version_id,
            skipped=True,
            skip_reason=(reason or "").strip() or None,
            submission_key=submission_key,
            project_tags=list(source_tags(session, project_id)),
        )

    appended = _append_once(make_session, user_id, submission_key, write)
    assert appended is not None
    return appended


def _check_seat(
    session: Session, user_id: int, project_id: int, policy: ServingPolicy, now: datetime
) -> None:
    """Let the judgement in when it holds a seat under the overlap cap: a live lease of the
    user (serving gave it one), a standing label of the user (a change of mind adds nobody),
    or a seat still free (fewer than k others have judged or hold a lease). Otherwise raise
    ReservationLost: the lease ran out, and others were served the project meanwhile."""
    live_lease = select(Lease.id).where(
        Lease.user_id == user_id, Lease.project_id == project_id, Lease.expires_at > now
    )
    if session.scalar(live_lease) is not None:
        return
    serialise_serving(session)  # counted and written in turn with serving, on PostgreSQL too
    judges = set(
        session.scalars(
            select(Annotation.user_id).where(Annotation.project_id == project_id, is_label())
        )
    )
    if user_id in judges:
        return
    holders = set(
        session.scalars(
            select(Lease.user_id).where(
                Lease.project_id == project_id, Lease.user_id != user_id, Lease.expires_at > now
            )
        )
    )
    if len(judges | holders) >= policy.overlap_k:
        raise ReservationLost(_reservation_lost(policy, len(judges), len(holders - judges)))


def _reservation_lost(policy: ServingPolicy, judged: int, judging: int) -> str:
    others = [f"{judged} other annotator{'' if judged == 1 else 's'} judged it"] if judged else []
    if judging:
        others.append(f"{judging} {'is' if judging == 1 else 'are'} judging it now")
    return (
        f"Not saved: this project was reserved for you for {policy.lease_minutes:g} minutes "
        f"and the reservation ran out; since then {' and '.join(others)}. One project gets at "
        f"most {policy.overlap_k} annotators (LABELLOOP_OVERLAP_K), so your judgement would "
        "be one too many."
    )


def _check_tags(session: Session, tags: list[str]) -> None:
    """Only active canonical names may be stored: an alias or a retired tag would silently
    create a label nobody can train on or search for."""
    active = set(session.scalars(select(Tag.name).where(Tag.active.is_(True))))
    for tag in tags:
        if tag not in active:
            raise ValueError(f"unknown tag {tag!r}")


def _existing_id(session: Session, user_id: int, submission_key: str | None) -> int | None:
    if submission_key is None:
        return None
    row = session.execute(
        select(Annotation.id, Annotation.user_id).where(Annotation.submission_key == submission_key)
    ).first()
    if row is None:
        return None
    if row.user_id != user_id:
        raise ValueError("submission key already used by another user")
    return int(row.id)


def _append_once(
    make_session: SessionFactory,
    user_id: int,
    submission_key: str | None,
    build: Callable[[Session], Annotation | None],
) -> int | None:
    """Insert the row ``build(session)`` returns and release the user's lease on its project,
    in one transaction, unless the submission key is already stored. The check inside the
    transaction covers SQLite (serialised writers); the unique constraint plus the re-read
    covers PostgreSQL, where two transactions can pass the check at the same time."""
    try:
        with make_session.begin() as session:
            existing = _existing_id(session, user_id, submission_key)
            if existing is not None:
                return existing
            row = build(session)
            if row is None:
                return None
            session.add(row)
            session.flush()
            refresh_project_states(session, [row.project_id])
            session.execute(
                delete(Lease).where(Lease.user_id == user_id, Lease.project_id == row.project_id)
            )
            return row.id
    except IntegrityError:
        with make_session() as session:
            existing = _existing_id(session, user_id, submission_key)
        if existing is None:
            raise
        return existing
