"""Serving projects to annotators: choosing the next one and leasing it (no Streamlit here).
The settings, routes and draws behind the choice are labeling.serving_policy; recording the
judgement (submit, skip) is labeling.judgements.

Why it is shaped like this:

* ``serve_next`` is one write transaction. Reading the candidates and taking the lease in the
  same transaction is what stops two annotators who ask at the same moment from getting the
  same project: SQLite serialises write transactions (BEGIN IMMEDIATE), PostgreSQL serialises
  them with a transaction-scoped advisory lock.
* Judgements are append-only (see db.models): submit, skip and undo (labeling.undo) only
  ever insert an Annotation row; "current" is always the latest row of a user for a project.
  A row an undo names (``undoes_id``) no longer stands: it neither keeps the project from
  its annotator nor counts towards the overlap cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, distinct, exists, func, select, text
from sqlalchemy.orm import Session, aliased

from db.models import (
    Annotation,
    Lease,
    ModelVersion,
    NewTopic,
    Prediction,
    Project,
    Resolution,
    SourceTag,
    Tag,
    utcnow,
)
from db.session import SessionFactory
from labeling.label_errors import suspicion_text
from labeling.model import DEFAULT_THRESHOLD
from labeling.registry import current_version
from labeling.serving_policy import (
    EVALUATION,
    NEW_TOPIC,
    UNCERTAINTY,
    ServingPolicy,
    overlap_draw,
    random_draw,
    serving_route,
    stable_rank,
    wants_evaluation,
)
from labeling.strategies import LABEL_ERRORS

SERVE_LOCK_KEY = 4_145_002  # distinct from training_jobs.CLAIM_LOCK_KEY
REASON_TAGS = 3
UNSURE_MARGIN = 0.25

_Undo = aliased(Annotation, name="undo")


def undone_ids() -> Select[tuple[int | None]]:
    """The ids of judgements an undo took back (an alias, so that the query never correlates
    with an outer query over Annotation)."""
    return select(_Undo.undoes_id).where(_Undo.undoes_id.is_not(None))


def stands() -> ColumnElement[bool]:
    """An Annotation row that is the person's own act and still stands: a judgement or skip
    that is not an undo and that no undo took back. A project with such a row of a user is
    not served to that user again."""
    return and_(Annotation.undoes_id.is_(None), Annotation.id.not_in(undone_ids()))


def is_label() -> ColumnElement[bool]:
    """An Annotation row that is a label: not a skip (an undo that restored an earlier
    judgement is one) and not taken back by an undo."""
    return and_(Annotation.skipped.is_(False), Annotation.id.not_in(undone_ids()))


@dataclass(frozen=True)
class ServedProject:
    """Everything the Annotate page needs to show one project, read in the serving transaction
    so that the page never shows a project it does not hold a lease on."""

    project_id: int
    external_id: str
    title: str
    description: str
    source_tags: tuple[str, ...]
    suggestions: dict[str, float] = field(default_factory=dict)
    model_version_id: int | None = None
    reason: str = ""
    # Set when the project was served as a likely label error: tag -> out-of-fold probability
    # of the tags probably wrong / probably missing; ``preselect`` the changes strong enough
    # to pre-select (label_errors.suspects' rule), ``implied`` parent -> the child tag
    # that implies it. Every other suspected tag is a hint, not a pre-selected change.
    suspected_wrong: dict[str, float] = field(default_factory=dict)
    suspected_missing: dict[str, float] = field(default_factory=dict)
    preselect: tuple[str, ...] = ()
    implied: dict[str, str] = field(default_factory=dict)


# --- serving ---------------------------------------------------------------------------------


def serve_next(
    make_session: SessionFactory,
    user_id: int,
    settings_like: Any = None,
    now: datetime | None = None,
) -> ServedProject | None:
    """Return the project this user should judge next and hold a lease on it, or None when
    nothing is left for them. A live lease of the user is returned again so that a page reload
    never skips a project."""
    now = now or utcnow()
    policy = ServingPolicy.of(settings_like)
    with make_session.begin() as session:
        serialise_serving(session)
        session.execute(delete(Lease).where(Lease.expires_at <= now))
        version = current_version(session)
        judged = session.scalar(select(func.count()).where(Annotation.user_id == user_id)) or 0
        route = serving_route(policy, user_id, judged)
        project_id = _held_project(session, user_id, now)
        if project_id is not None:
            route = _held_route(session, project_id, policy, user_id, judged, route)
        else:
            project_id, route = _choose_project(
                session, user_id, version, policy, now, judged, route
            )
        if project_id is None:
            return None
        _take_lease(session, project_id, user_id, now + timedelta(minutes=policy.lease_minutes))
        return _describe(session, project_id, user_id, version, route)


def serialise_serving(session: Session) -> None:
    """PostgreSQL runs write transactions concurrently; this lock (released at commit) makes
    choosing and leasing a project one step at a time, as BEGIN IMMEDIATE does on SQLite. A
    submit's seat check (labeling.judgements) takes it too, so seats are counted in turn."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SERVE_LOCK_KEY})


def _held_project(session: Session, user_id: int, now: datetime) -> int | None:
    """The project of the user's newest live lease. Submit and skip release the lease in the
    same transaction as the judgement, so a live lease means 'shown and not yet judged'."""
    return session.scalar(
        select(Lease.project_id)
        .where(Lease.user_id == user_id, Lease.expires_at > now)
        .order_by(Lease.created_at.desc(), Lease.id.desc())
        .limit(1)
    )


def _held_route(
    session: Session, project_id: int, policy: ServingPolicy, user_id: int, judged: int, route: str
) -> str:
    """The route a reload shows for a held project: the same draws as when it was chosen, so
    an evaluation pick keeps its reason (a fallback pick that is no evaluation project keeps
    the ordinary one), and so does a new topic."""
    if policy.new_topics_first and session.scalar(
        select(NewTopic.project_id).where(
            NewTopic.batch_id == _newest_checked_batch(), NewTopic.project_id == project_id
        )
    ):
        return NEW_TOPIC
    if wants_evaluation(policy, user_id, judged):
        project = session.get(Project, project_id)
        if project is not None and project.split == "eval":
            return EVALUATION
    return route


def _judge_counts() -> Any:
    """Distinct annotators with a real (non-skipped) judgement per project. A skip is not a
    label, so a skipped project still needs its first label and does not count towards k;
    neither does a judgement an undo took back."""
    return (
        select(
            Annotation.project_id.label("project_id"),
            func.count(distinct(Annotation.user_id)).label("judges"),
        )
        .where(is_label())
        .group_by(Annotation.project_id)
        .subquery()
    )


def _pools(user_id: int, policy: ServingPolicy, now: datetime) -> tuple[Select[Any], Select[Any]]:
    """(first-opinion pool, second-opinion pool) as queries over Project: both exclude what
    the user ever judged (skips included) and what another annotator holds a live lease on.

    The first pool is "no real judgement exists" (an indexed NOT EXISTS per candidate, walked
    in score order); the second is driven from the judged projects, which are few, so that an
    empty second-opinion pool costs a small aggregate rather than a scan of the catalogue."""
    judged_by_user = exists().where(
        Annotation.project_id == Project.id, Annotation.user_id == user_id, stands()
    )
    leased_to_other = exists().where(
        Lease.project_id == Project.id, Lease.user_id != user_id, Lease.expires_at > now
    )
    judged_by_anyone = exists().where(Annotation.project_id == Project.id, is_label())
    first = select(Project.id).where(~judged_by_anyone, ~leased_to_other)
    judges = _judge_counts()
    awaiting_opinion = select(judges.c.project_id).where(judges.c.judges < policy.overlap_k)
    second = select(Project.id).where(
        Project.id.in_(awaiting_opinion), ~judged_by_user, ~leased_to_other
    )
    return first.where(~judged_by_user), second


def _choose_project(
    session: Session,
    user_id: int,
    version: ModelVersion | None,
    policy: ServingPolicy,
    now: datetime,
    judged: int,
    route: str,
) -> tuple[int | None, str]:
    """Draw first or second opinion; if the drawn pool is empty, fall back to the other one
    (when overlap is switched on at all) so that the annotator is not left idle. Returns the
    project and the route that chose it: a first opinion goes to a possible new topic of the
    latest checked import while one is left (``NEW_TOPIC``, when new topics come first),
    else to an unverified evaluation project when the evaluation draw says so and one is
    left (``EVALUATION``), else by the route's order."""
    primary, overlap = _pools(user_id, policy, now)
    if policy.overlap_share <= 0:
        order = [primary]
    else:
        wants_overlap = overlap_draw(user_id, judged) < policy.overlap_share
        order = [overlap, primary] if wants_overlap else [primary, overlap]
    draw = random_draw(user_id, judged)
    for pool in order:
        if pool is overlap:
            project_id = _most_uncertain(session, pool, version, small_pool=True)
        else:
            if policy.new_topics_first:
                project_id = _first_new_topic(session, pool)
                if project_id is not None:
                    return project_id, NEW_TOPIC
            if wants_evaluation(policy, user_id, judged):
                project_id = _random_pick(session, _unverified_evaluation(pool), draw)
                if project_id is not None:
                    return project_id, EVALUATION
            project_id = _first_by_route(session, pool, version, route, draw)
        if project_id is not None:
            return project_id, route
    return None, route


def _newest_checked_batch() -> Any:
    """The newest import batch whose checks recorded possible new topics."""
    return select(func.max(NewTopic.batch_id)).scalar_subquery()


def _first_new_topic(session: Session, first_pool: Select[Any]) -> int | None:
    """The first (in import order) pool project among the newest checked import's possible
    new topics: the projects the model knows least about, so their labels teach it most and
    their tags are the likeliest to be missing."""
    topics = select(NewTopic.project_id).where(NewTopic.batch_id == _newest_checked_batch())
    return session.scalar(first_pool.where(Project.id.in_(topics)).order_by(Project.id).limit(1))


def _unverified_evaluation(first_pool: Select[Any]) -> Select[Any]:
    """The first-opinion pool's evaluation projects that no reviewer resolved either: each
    judgement of one adds a project to the verified evaluation set. Picked at random, not by
    uncertainty, so that the verified set stays a fair sample of the evaluation split and
    its figures estimate the whole split's rather than the hardest projects'."""
    resolved = exists().where(Resolution.project_id == Project.id)
    return first_pool.where(Project.split == "eval", ~resolved)


def _first_by_route(
    session: Session, pool: Select[Any], version: ModelVersion | None, route: str, draw: float
) -> int | None:
    """The first-opinion pick of the route; a route with no candidate (nobody's tags are
    suspect, as in a catalogue without source tags) falls back to uncertainty order."""
    if route == LABEL_ERRORS and version is not None:
        suspect = _most_suspect(session, pool, version)
        if suspect is not None:
            return suspect
    if route == "random":
        return _random_pick(session, pool, draw)
    return _most_uncertain(session, pool, version)


def _most_suspect(session: Session, pool: Select[Any], version: ModelVersion) -> int | None:
    """The pool project whose tags the model most likely finds wrong: a walk down the
    (version, label_error_score) index; unsuspected projects (score 0 or none) never match."""
    return session.scalar(
        pool.join(
            Prediction,
            and_(Prediction.project_id == Project.id, Prediction.model_version_id == version.id),
        )
        .where(Prediction.label_error_score > 0)
        .order_by(Prediction.label_error_score.desc(), Project.id)
        .limit(1)
    )


def _random_pick(session: Session, pool: Select[Any], draw: float) -> int | None:
    """A pseudo-random pool project found through the primary key (the first free id at or
    after a random point, wrapping round), so a random pick costs an index probe, not a sort
    of the catalogue."""
    low, high = session.execute(select(func.min(Project.id), func.max(Project.id))).one()
    if low is None:
        return None
    start = low + int(draw * (high - low + 1))
    after = session.scalar(pool.where(Project.id >= start).order_by(Project.id).limit(1))
    if after is not None:
        return after
    return session.scalar(pool.where(Project.id < start).order_by(Project.id).limit(1))


def _most_uncertain(
    session: Session, pool: Select[Any], version: ModelVersion | None, small_pool: bool = False
) -> int | None:
    """The most uncertain scored project of the pool; projects the model has not scored (no
    model yet, or imported after training) come after, in the stable cold-start order."""
    if version is not None:
        scored = session.scalar(
            pool.join(
                Prediction,
                and_(
                    Prediction.project_id == Project.id, Prediction.model_version_id == version.id
                ),
            )
            # The first pool is large: walk the (version, uncertainty) index until a free
            # project appears. The second is small: "+ 0" stops SQLite from walking the index
            # over the whole catalogue and makes it sort the few candidates instead.
            .order_by(
                (Prediction.uncertainty + 0 if small_pool else Prediction.uncertainty).desc(),
                Project.id,
            )
            .limit(1)
        )
        if scored is not None:
            return scored
    rows = session.execute(pool.add_columns(Project.external_id)).all()
    if not rows:
        return None
    return min(rows, key=lambda row: (stable_rank(row.external_id), row.id)).id


def _take_lease(session: Session, project_id: int, user_id: int, expires_at: datetime) -> None:
    """One lease row per (project, user) by constraint: renew it rather than insert a second."""
    lease = session.scalar(
        select(Lease).where(Lease.project_id == project_id, Lease.user_id == user_id)
    )
    if lease is None:
        session.add(Lease(project_id=project_id, user_id=user_id, expires_at=expires_at))
    else:
        lease.expires_at = expires_at
    session.flush()


def _describe(
    session: Session,
    project_id: int,
    user_id: int,
    version: ModelVersion | None,
    route: str = UNCERTAINTY,
) -> ServedProject:
    project = session.get(Project, project_id)
    assert project is not None
    prediction = session.get(Prediction, (version.id, project_id)) if version is not None else None
    thresholds = dict(version.thresholds or {}) if version is not None else {}
    probabilities = dict(prediction.probabilities or {}) if prediction is not None else {}
    others = _other_judges(session, project_id, user_id)
    suspicions = _served_suspicions(prediction, route, others)
    return ServedProject(
        project_id=project.id,
        external_id=project.external_id,
        title=project.title,
        description=project.description,
        source_tags=source_tags(session, project_id),
        suggestions=order_suggestions(probabilities, thresholds),
        model_version_id=version.id if version is not None else None,
        reason=serving_reason(
            others, version is not None, probabilities, thresholds, suspicions, route
        ),
        suspected_wrong=dict(suspicions.get("wrong", {})),
        suspected_missing=dict(suspicions.get("missing", {})),
        preselect=tuple(suspicions.get("preselect", {})),
        implied=dict(suspicions.get("implied", {})),
    )


def _served_suspicions(
    prediction: Prediction | None, route: str, other_judges: int
) -> dict[str, dict[str, Any]]:
    """The suspected tags, only when the project was served because of them: a second
    opinion stays blind to what the detector thinks, and an uncertainty or random pick does
    not silently pre-select fixes its reason line does not mention."""
    if route != LABEL_ERRORS or other_judges or prediction is None:
        return {}
    if not prediction.label_error_score or not prediction.suspicions:
        return {}
    return prediction.suspicions


def _other_judges(session: Session, project_id: int, user_id: int) -> int:
    return (
        session.scalar(
            select(func.count(distinct(Annotation.user_id))).where(
                Annotation.project_id == project_id,
                Annotation.user_id != user_id,
                is_label(),
            )
        )
        or 0
    )


def source_tags(session: Session, project_id: int) -> tuple[str, ...]:
    names = session.scalars(
        select(Tag.name)
        .join(SourceTag, SourceTag.tag_id == Tag.id)
        .where(SourceTag.project_id == project_id, Tag.candidate.is_(False))
        .order_by(Tag.name)
    )
    return tuple(names)


def order_suggestions(
    probabilities: dict[str, float], thresholds: dict[str, float]
) -> dict[str, float]:
    """Tags at or above their threshold first (the page pre-selects those), each group by
    probability descending; dicts keep insertion order, so the page can show them as is."""

    def key(item: tuple[str, float]) -> tuple[bool, float, str]:
        tag, p = item
        return (p < thresholds.get(tag, DEFAULT_THRESHOLD), -p, tag)

    return dict(sorted(probabilities.items(), key=key))


def serving_reason(
    other_judges: int,
    has_model: bool,
    probabilities: dict[str, float],
    thresholds: dict[str, float],
    suspicions: dict[str, dict[str, Any]] | None = None,
    route: str = UNCERTAINTY,
) -> str:
    """One short line on why this project was chosen, so that annotators trust the queue."""
    if other_judges > 0:
        plural = "annotator" if other_judges == 1 else "annotators"
        return f"second opinion: judged by {other_judges} other {plural}"
    if route == NEW_TOPIC:
        return "a possible new topic: the model had no confident tag for it when it was imported"
    if route == EVALUATION:
        return (
            "an evaluation project: a share of projects is served so that the model is "
            "checked against labels people gave"
        )
    if not has_model:
        return "served in random order: no model yet"
    if suspicions and (suspicions.get("wrong") or suspicions.get("missing")):
        return "tags probably need fixing: " + suspicion_text(suspicions)
    if route == "random":
        return "a random pick: a share of projects is served at random to check the model"
    if not probabilities:
        return "served in random order: the model has not scored this project"

    def distance(item: tuple[str, float]) -> float:
        return abs(item[1] - thresholds.get(item[0], DEFAULT_THRESHOLD))

    ranked = sorted(probabilities.items(), key=lambda item: (distance(item), item[0]))
    # The closest tag always explains the choice; others only when they are near their
    # threshold too, since "unsure about: vision 0.01" would tell the annotator nothing.
    closest = [item for i, item in enumerate(ranked) if i == 0 or distance(item) <= UNSURE_MARGIN]
    closest = closest[:REASON_TAGS]
    return "the model is unsure about: " + ", ".join(f"{tag} {p:.2f}" for tag, p in closest)


def bring_back(
    session: Session, user_id: int, project_id: int, settings_like: Any, now: datetime
) -> None:
    """Lease ``project_id`` to the user again and release their other leases, in the caller's
    transaction: an undone project goes back on their screen (serve_next returns a live lease
    first) and the project that was showing goes back to the pool."""
    policy = ServingPolicy.of(settings_like)
    session.execute(delete(Lease).where(Lease.user_id == user_id, Lease.project_id != project_id))
    _take_lease(session, project_id, user_id, now + timedelta(minutes=policy.lease_minutes))
