"""Each project's status and effective label, stored (tables ``project_states``,
``effective_tags``, ``predicted_tags``; migration 0012) so that searching by status or by tag
is an index lookup at 100,000 projects.

Why stored, and how it stays right:

* Deriving the states of 5,000 judged projects from their judgements took 0.2-1 s, on every
  first search after a judgement: too slow for the Projects page's 300 ms.
* The stored rows are a cache of ``labeling.annotations.label_state`` and nothing else. Every
  write that changes a project's judgements or resolutions calls ``refresh_project_states``
  for that project inside its own transaction (submit, skip, undo, resolution, tag rename,
  merge and its undo), so a reader never sees a judgement without its state.
  ``rebuild_project_states`` derives them all again (migration backfill, repair).
* What stays live is what a plain join already answers fast: the source tags (import, tag
  merge and discard change them) and whether they are trusted (a setting). The stored state
  therefore never depends on either: a project whose judgements decide no label (a conflict)
  stores ``label_source`` None and reads its effective label from the source tags, as an
  unlabeled project does.
* Predicted tags are written with the version's predictions (training, rescoring) and
  dropped with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from db.models import (
    Annotation,
    EffectiveTag,
    PredictedTag,
    Project,
    ProjectState,
    Resolution,
)
from labeling.annotations import (
    LabelState,
    current_judgements,
    judged_since,
    label_state,
    latest_resolution_records,
    source_tag_sets,
)

CHUNK = 500
# First half of the two-part advisory lock key of a project's state (the second is its id);
# distinct from serving.SERVE_LOCK_KEY and training_jobs.CLAIM_LOCK_KEY (one-part form).
STATE_LOCK_KEY = 4_145_003
DECIDING_SOURCES = ("resolved", "agreed", "single")


@dataclass(frozen=True)
class StoredState:
    """A project's stored row: its status and, when judgements decided it, its label."""

    status: str
    label_source: str | None
    tags: tuple[str, ...]


def derived_states(session: Session, project_ids: Sequence[int]) -> dict[int, StoredState]:
    """The stored form of the state of each project in ``project_ids`` that anyone judged or
    resolved, derived from its judgements: unlabeled projects are left out."""
    judgements = current_judgements(session, project_ids)
    resolutions = latest_resolution_records(session, project_ids)
    states = {}
    for project_id in set(judgements) | set(resolutions):
        judged = judgements.get(project_id, {})
        resolution = resolutions.get(project_id)
        state = label_state(
            {user: j.tags for user, j in judged.items()},
            resolution.tags if resolution is not None else None,
            frozenset(),
            False,
            judged_since(judged, resolution),
        )
        if state.status == "unlabeled":
            continue
        decided = state.label_source in DECIDING_SOURCES
        states[project_id] = StoredState(
            state.status, state.label_source if decided else None, state.tags if decided else ()
        )
    return states


def refresh_project_states(session: Session, project_ids: Iterable[int]) -> None:
    """Store again the state of each project in ``project_ids`` from its judgements; called in
    the transaction of every write that changes them, after the write is flushed.

    On PostgreSQL each project's advisory lock is taken first (in id order), so that two
    judgements of one project at the same moment take turns and the second derives its state
    with the first one's judgement committed; without it each would derive from its own
    snapshot, and the later commit would store a state missing the other's judgement (or fail
    on the primary key). An advisory lock rather than the project row's: inserting a judgement
    already holds a key-share lock on that row, and two such inserts upgrading it could deadlock.
    SQLite already serialises writers."""
    ids = sorted(set(project_ids))
    postgres = session.get_bind().dialect.name == "postgresql"
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        session.flush()
        for project_id in chunk if postgres else ():
            session.execute(
                text(
                    "SELECT pg_advisory_xact_lock(CAST(:key AS integer), CAST(:project AS integer))"
                ),
                {"key": STATE_LOCK_KEY, "project": project_id},
            )
        _replace(session, chunk, derived_states(session, chunk))


def refresh_judged_rows(
    session: Session, annotation_ids: Iterable[int | str], resolution_ids: Iterable[int | str]
) -> None:
    """Store again the state of the projects of the given judgement and resolution rows (ids
    as numbers or as the text keys of an audit event's JSON): for a tag rename or merge, which
    rewrites judgements in place (a merge can turn a conflict into an agreement), and its undo."""
    projects: set[int] = set()
    for model, ids in ((Annotation, annotation_ids), (Resolution, resolution_ids)):
        wanted = sorted(int(row_id) for row_id in ids)
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            projects.update(session.scalars(select(model.project_id).where(model.id.in_(chunk))))
    refresh_project_states(session, projects)


def rebuild_project_states(session: Session) -> int:
    """Derive and store every project's state again; returns the number of rows stored."""
    session.execute(delete(EffectiveTag))
    session.execute(delete(ProjectState))
    touched = sorted(
        set(session.scalars(select(Annotation.project_id).distinct()))
        | set(session.scalars(select(Resolution.project_id).distinct()))
    )
    stored = 0
    for start in range(0, len(touched), CHUNK):
        chunk = touched[start : start + CHUNK]
        states = derived_states(session, chunk)
        _insert(session, states)
        stored += len(states)
    return stored


def _replace(session: Session, project_ids: list[int], states: Mapping[int, StoredState]) -> None:
    session.flush()
    session.execute(delete(EffectiveTag).where(EffectiveTag.project_id.in_(project_ids)))
    session.execute(delete(ProjectState).where(ProjectState.project_id.in_(project_ids)))
    _insert(session, states)


def _insert(session: Session, states: Mapping[int, StoredState]) -> None:
    if not states:
        return
    session.execute(
        insert(ProjectState),
        [
            {"project_id": p, "status": s.status, "label_source": s.label_source}
            for p, s in states.items()
        ],
    )
    tags = [{"project_id": p, "tag": tag} for p, s in states.items() for tag in s.tags]
    if tags:
        session.execute(insert(EffectiveTag), tags)


def stored_states(
    session: Session, project_ids: Iterable[int] | None = None
) -> dict[int, StoredState]:
    """project id -> its stored row (every stored project without ``project_ids``)."""
    ids = None if project_ids is None else sorted(set(project_ids))
    states_query = select(ProjectState.project_id, ProjectState.status, ProjectState.label_source)
    tags_query = select(EffectiveTag.project_id, EffectiveTag.tag)
    if ids is not None:
        states_query = states_query.where(ProjectState.project_id.in_(ids))
        tags_query = tags_query.where(EffectiveTag.project_id.in_(ids))
    tags: dict[int, list[str]] = {}
    for project_id, tag in session.execute(tags_query):
        tags.setdefault(project_id, []).append(tag)
    return {
        project_id: StoredState(status, source, tuple(sorted(tags.get(project_id, ()))))
        for project_id, status, source in session.execute(states_query)
    }


def effective_state(
    stored: StoredState | None, source_tags: Iterable[str], trust_source_tags: bool
) -> LabelState:
    """The LabelState a stored row (None: no row) stands for, given the project's source
    tags and whether they are trusted: the same answer as ``label_state``."""
    if stored is not None and stored.label_source is not None:
        return LabelState(stored.status, stored.tags, stored.label_source)
    status = "unlabeled" if stored is None else stored.status
    if trust_source_tags:
        return LabelState(status, tuple(sorted(source_tags)), "source")
    return LabelState(status, (), "none")


def stored_label_states(session: Session, trust_source_tags: bool) -> dict[int, LabelState]:
    """Every project's label state as read from the stored rows and the source tags; what
    ``labeling.annotations.all_label_states`` derives, for the consistency check."""
    stored = stored_states(session)
    sources = source_tag_sets(session)
    return {
        project_id: effective_state(
            stored.get(project_id), sources.get(project_id, ()), trust_source_tags
        )
        for project_id in session.scalars(select(Project.id))
    }


# --- predicted tags ----------------------------------------------------------------------------


def store_predicted_tags(
    session: Session,
    version_id: int,
    rows: Iterable[Mapping[str, Any]],
    thresholds: Mapping[str, float],
) -> int:
    """Store the tags each prediction row (``project_id``, ``probabilities``) reaches the
    threshold of, in place of the version's earlier ones; written next to the version's
    predictions. Returns the rows written."""
    session.execute(delete(PredictedTag).where(PredictedTag.model_version_id == version_id))
    found = [
        {"model_version_id": version_id, "tag": tag, "project_id": row["project_id"]}
        for row in rows
        for tag, p in (row["probabilities"] or {}).items()
        if tag in thresholds and p >= thresholds[tag]
    ]
    for start in range(0, len(found), 5_000):
        session.execute(insert(PredictedTag), found[start : start + 5_000])
    return len(found)


def drop_predicted_tags(session: Session, kept_versions: Sequence[int]) -> None:
    """Drop the predicted tags of every version whose predictions are dropped."""
    session.execute(delete(PredictedTag).where(PredictedTag.model_version_id.not_in(kept_versions)))
