"""What the Annotate page shows around a served project: the pre-selected tags, the evidence
and the model's suggestions as labelled lines, the tag choices with aliases, progress and
model status."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from db.models import Annotation, ModelVersion, Project, SourceTag, Tag, TagAlias, utcnow
from labeling.label_errors import preselected_changes, preselected_tags
from labeling.model import DEFAULT_THRESHOLD
from labeling.registry import current_version
from labeling.serving import ServedProject, is_label, stands
from labeling.undo import UNDONE

MISSES_SHOWN = 3


@dataclass(frozen=True)
class Suggestion:
    tag: str
    probability: float
    threshold: float

    @property
    def suggested(self) -> bool:
        return self.probability >= self.threshold


@dataclass(frozen=True)
class AnnotationForm:
    """``preselected`` is the starting tag set: the current tags with only the changes whose
    measured precision is high applied (the pre-selection rule of ``label_errors.suspects``;
    a fast annotator accepts what is pre-selected, so a wrong pre-selection is an error
    introduced). Every other suspected change and every model suggestion is an unselected
    hint. ``lines`` say it in words, one model figure per tag, each named for the model it
    comes from."""

    preselected: tuple[str, ...]
    suggestions: tuple[Suggestion, ...]  # served model: suggested tags, then closest misses
    lines: tuple[str, ...] = ()


def annotation_form(session: Session, served: ServedProject) -> AnnotationForm:
    thresholds: dict[str, float] = {}
    if served.model_version_id is not None:
        version = session.get(ModelVersion, served.model_version_id)
        thresholds = dict(version.thresholds or {}) if version else {}
    suspicions = {
        "wrong": served.suspected_wrong,
        "missing": served.suspected_missing,
        "preselect": dict.fromkeys(served.preselect, True),
        "implied": served.implied,
    }
    preselected = preselected_tags(served.source_tags, suspicions)
    # The out-of-fold figure is the one that counts for a suspected tag; the served model was
    # trained on these very tags, so its figure for them would contradict it without news.
    named = {*served.suspected_wrong, *served.suspected_missing}
    every = [
        Suggestion(tag, probability, thresholds.get(tag, DEFAULT_THRESHOLD))
        for tag, probability in served.suggestions.items()
        if tag not in named
    ]
    closest_misses = sorted(
        (s for s in every if not s.suggested), key=lambda s: -s.probability / s.threshold
    )[:MISSES_SHOWN]
    suggestions = tuple([s for s in every if s.suggested] + closest_misses)
    return AnnotationForm(
        preselected, suggestions, evidence_lines(served, suspicions, preselected, suggestions)
    )


def _change(tag: str, add: bool, served: ServedProject) -> str:
    sign = "+" if add else "−"
    if tag in served.implied:
        return f"{sign} {tag} (implied by {served.implied[tag]})"
    p = (served.suspected_missing if add else served.suspected_wrong)[tag]
    return f"{sign} {tag} (out-of-fold model {p:.2f})"


def evidence_lines(
    served: ServedProject,
    suspicions: dict[str, Any],
    preselected: tuple[str, ...],
    suggestions: tuple[Suggestion, ...],
) -> tuple[str, ...]:
    """What the page shows about the model, e.g. "Pre-selected change: + computer-vision
    (implied by object-detection)", "Hints, not selected: − nlp (out-of-fold model 0.31)",
    "Served model (trained on the current tags) suggests ...", and a plain warning when
    nothing at all is pre-selected, so an empty judgement is never one key away unnoticed."""
    add, remove = preselected_changes(suspicions)
    hints = [
        *(_change(tag, False, served) for tag in served.suspected_wrong if tag not in remove),
        *(_change(tag, True, served) for tag in served.suspected_missing if tag not in add),
    ]
    chosen = [
        *(_change(tag, False, served) for tag in served.suspected_wrong if tag in remove),
        *(_change(tag, True, served) for tag in served.suspected_missing if tag in add),
    ]
    lines = []
    if chosen:
        label = "Pre-selected change" if len(chosen) == 1 else "Pre-selected changes"
        lines.append(f"{label} (likely right; check it): " + ", ".join(chosen))
    if hints:
        lines.append("Hints, not selected (add or remove them yourself): " + ", ".join(hints))
    if suggestions:
        lines.append("Served model (trained on the current tags): " + suggestion_line(suggestions))
    if not preselected:
        lines.append("Nothing is pre-selected: choose the tags that apply.")
    return tuple(lines)


def suggestion_line(suggestions: tuple[Suggestion, ...]) -> str:
    """One readable line: suggested tags with their probabilities, then the closest misses
    with their thresholds, e.g. "suggests pytorch 0.93, nlp 0.71 · below threshold:
    transformers 0.38 < 0.45"."""
    suggested = [f"{s.tag} {s.probability:.2f}" for s in suggestions if s.suggested]
    missed = [
        f"{s.tag} {s.probability:.2f} < {s.threshold:.2f}" for s in suggestions if not s.suggested
    ]
    parts = ["suggests " + ", ".join(suggested) if suggested else "suggests no tag"]
    if missed:
        parts.append("below threshold: " + ", ".join(missed))
    return " · ".join(parts)


def tag_choices(session: Session) -> dict[str, str]:
    """Active tag -> label with its aliases, so that typing an alias ("nlp") finds the tag in
    the searchable picker. Inactive tags are kept for history but never offered."""
    aliases: dict[str, list[str]] = {}
    for alias, name in session.execute(
        select(TagAlias.alias, Tag.name).join(Tag, TagAlias.tag_id == Tag.id)
    ).all():
        aliases.setdefault(name, []).append(alias)
    names = session.scalars(select(Tag.name).where(Tag.active.is_(True)).order_by(Tag.name))
    return {
        name: f"{name} ({', '.join(sorted(aliases[name]))})" if name in aliases else name
        for name in names
    }


@dataclass(frozen=True)
class Progress:
    """What the counters on Annotate count. A judgement is a submitted tag set (an empty one
    with "no tag applies" included) that still stands: skips, undos and judgements an undo
    took back are counted apart, never as labelling."""

    judged_today: int
    skipped_today: int
    undone_today: int
    judged_since: int
    judged_total: int
    unjudged_projects: int
    projects: int


def progress(
    session: Session, user_id: int, now: datetime | None = None, since: datetime | None = None
) -> Progress:
    """``since``: when this page session started, for the "this session" counter."""
    midnight = datetime.combine((now or utcnow()).date(), time.min)
    mine = select(func.count()).select_from(Annotation).where(Annotation.user_id == user_id)
    judgements = mine.where(stands(), Annotation.skipped.is_(False))
    skips = mine.where(stands(), Annotation.skipped.is_(True))
    undos = mine.where(Annotation.undoes_id.is_not(None))
    today = Annotation.created_at >= midnight
    judged_projects = select(func.count(Annotation.project_id.distinct())).where(is_label())
    projects = session.scalar(select(func.count()).select_from(Project)) or 0
    return Progress(
        judged_today=session.scalar(judgements.where(today)) or 0,
        skipped_today=session.scalar(skips.where(today)) or 0,
        undone_today=session.scalar(undos.where(today)) or 0,
        judged_since=session.scalar(judgements.where(Annotation.created_at >= since)) or 0
        if since is not None
        else 0,
        judged_total=session.scalar(judgements) or 0,
        unjudged_projects=projects - (session.scalar(judged_projects) or 0),
        projects=projects,
    )


def progress_note(counts: Progress) -> str:
    """The line under the counters that says what they count."""
    return (
        f"Counters count judgements (tag sets you submitted that still stand). Today you also "
        f"skipped {counts.skipped_today} and undid {counts.undone_today}; those are not "
        "counted as labelled."
    )


@dataclass(frozen=True)
class ModelStatus:
    serving_version: int | None
    ready_at: datetime | None
    training_stage: str | None
    training_pct: float | None


def model_status(session: Session) -> ModelStatus:
    current = current_version(session)
    running = session.scalar(
        select(ModelVersion)
        .where(ModelVersion.status.in_(("queued", "training")))
        .order_by(ModelVersion.id.desc())
        .limit(1)
    )
    return ModelStatus(
        serving_version=current.id if current else None,
        ready_at=current.finished_at if current else None,
        training_stage=running.progress_stage if running else None,
        training_pct=running.progress_pct if running else None,
    )


def submission_key(session: Session, user_id: int, project_id: int) -> str:
    """The same for every copy of one pending judgement (a double click, a second browser tab
    showing the same leased project), different for the next judgement of that project, so
    that the database's unique key turns duplicates into one row."""
    earlier = session.scalar(
        select(func.count())
        .select_from(Annotation)
        .where(Annotation.user_id == user_id, Annotation.project_id == project_id)
    )
    return f"u{user_id}-p{project_id}-n{earlier or 0}"


# --- My history ------------------------------------------------------------------------------

HISTORY_STATUSES = ("all", "current", "superseded", "undone", "skipped", "undo")
HISTORY_KINDS = ("judgement", "skip", "undo")

# The outer row of the history query; "a later judgement exists" compares Annotation with it.
_Older = aliased(Annotation, name="older")


def history(session: Session, user_id: int, limit: int = 100) -> list[dict[str, Any]]:
    """The user's judgements, skips and undos, newest first. ``superseded``: a later row of
    the same user for the same project replaced it; ``undone``: an undo took it back.
    ``project_tags`` are the project's tags when the row was saved (the project's current
    source tags for rows older than that record)."""
    later = (
        exists()
        .where(
            Annotation.user_id == user_id,
            Annotation.project_id == _Older.project_id,
            Annotation.id > _Older.id,
        )
        .correlate(_Older)
    )
    undone = exists().where(Annotation.undoes_id == _Older.id).correlate(_Older)
    rows = session.execute(
        select(
            _Older,
            Project.external_id,
            Project.title,
            later.label("superseded"),
            undone.label("undone"),
        )
        .join(Project, Project.id == _Older.project_id)
        .where(_Older.user_id == user_id)
        .order_by(_Older.id.desc())
        .limit(limit)
    ).all()
    unrecorded = {row[0].project_id for row in rows if row[0].project_tags is None}
    source = _source_tags_of(session, unrecorded)
    return [_history_row(row, source) for row in rows]


def _source_tags_of(session: Session, project_ids: Iterable[int]) -> dict[int, list[str]]:
    wanted = list(project_ids)
    tags: dict[int, list[str]] = defaultdict(list)
    if wanted:
        for project_id, name in session.execute(
            select(SourceTag.project_id, Tag.name)
            .join(Tag, Tag.id == SourceTag.tag_id)
            .where(SourceTag.project_id.in_(wanted))
            .order_by(Tag.name)
        ):
            tags[project_id].append(name)
    return tags


def _history_row(row: Any, source: dict[int, list[str]]) -> dict[str, Any]:
    annotation = row[0]
    project_tags = annotation.project_tags
    return {
        "annotation_id": annotation.id,
        "project_id": annotation.project_id,
        "external_id": row.external_id,
        "title": row.title,
        "tags": list(annotation.tags),
        "shown_tags": list(annotation.shown_tags),
        "added": list(annotation.added),
        "removed": list(annotation.removed),
        "project_tags": list(
            project_tags if project_tags is not None else source.get(annotation.project_id, [])
        ),
        "skipped": bool(annotation.skipped),
        "skip_reason": annotation.skip_reason,
        "no_tag_applies": bool(annotation.no_tag_applies),
        "undoes_id": annotation.undoes_id,
        "undone": bool(row.undone),
        "created_at": annotation.created_at,
        "superseded": bool(row.superseded),
    }


def history_kind(row: dict[str, Any]) -> str:
    """judgement (a tag set, empty with "no tag applies" included), skip, or undo (the row
    that took back the judgement or skip before it)."""
    if row["undoes_id"] is not None:
        return "undo"
    return "skip" if row["skipped"] else "judgement"


def history_status(row: dict[str, Any]) -> str:
    """current (the row that counts now), superseded (a later row replaced it) or undone (an
    undo took it back)."""
    if row["undone"]:
        return "undone"
    return "superseded" if row["superseded"] else "current"


def withdrawn(row: dict[str, Any]) -> bool:
    """An undo that left no judgement: the project is the annotator's to judge again."""
    return row["undoes_id"] is not None and row["skipped"] and row["skip_reason"] == UNDONE


def history_tags(row: dict[str, Any]) -> str:
    """The saved tag set as a person should read it: an empty set saved on purpose is "no
    tag applies", never "(skipped)"."""
    if withdrawn(row):
        return "(withdrawn: Annotate serves it to you again)"
    if row["skipped"]:
        return f"(skipped: {row['skip_reason']})" if row["skip_reason"] else "(skipped)"
    if row["tags"]:
        return ", ".join(row["tags"])
    return "(no tag applies)" if row["no_tag_applies"] else "(no tags)"


def tag_changes(before: Iterable[str], after: Iterable[str]) -> str:
    """ "+added, -removed" from ``before`` to ``after``, added first, each alphabetical."""
    old, new = set(before), set(after)
    return ", ".join([*(f"+{t}" for t in sorted(new - old)), *(f"-{t}" for t in sorted(old - new))])


def _changes(row: dict[str, Any]) -> tuple[str, str]:
    """(vs the project's tags, vs what was pre-selected); empty for skips, which change
    nothing."""
    if row["skipped"]:
        return "", ""
    preselected = [*(f"+{t}" for t in row["added"]), *(f"-{t}" for t in row["removed"])]
    return tag_changes(row["project_tags"], row["tags"]), ", ".join(preselected)


def filter_history(
    rows: list[dict[str, Any]],
    days: tuple[date, ...] = (),
    tag: str | None = None,
    status: str = "all",
) -> list[dict[str, Any]]:
    """My history's filters: one day or an inclusive range of days (as a date picker gives
    them), a tag (in the saved set, the project's tags or the pre-selection) and a status
    (current, superseded or undone as history_status says; skipped and undo by kind)."""
    since = days[0] if days else None
    until = days[1] if len(days) > 1 else since
    if status not in HISTORY_STATUSES:
        raise ValueError(f"unknown status {status!r}; choose one of: {', '.join(HISTORY_STATUSES)}")

    def keep(row: dict[str, Any]) -> bool:
        day = row["created_at"].date()
        if (since and day < since) or (until and day > until):
            return False
        touched = {*row["tags"], *row["added"], *row["removed"], *row["project_tags"]}
        if tag and tag not in touched:
            return False
        if status == "skipped":
            return history_kind(row) == "skip"
        if status == "undo":
            return history_kind(row) == "undo"
        return status == "all" or history_status(row) == status

    return [row for row in rows if keep(row)]


def history_table(rows: list[dict[str, Any]]) -> list[dict[str, object]]:
    table = []
    for row in rows:
        vs_project, vs_preselected = _changes(row)
        table.append(
            {
                "when": row["created_at"],
                "project": row["external_id"],
                "title": row["title"],
                "kind": history_kind(row),
                "status": history_status(row),
                "tags saved": history_tags(row),
                "vs project tags": vs_project,
                "vs pre-selected": vs_preselected,
            }
        )
    return table


def changeable(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Project id -> the row that counts now, for "Change a judgement": current judgements
    and skips; a withdrawn project is judged again on Annotate, where it is served."""
    return {
        row["project_id"]: row
        for row in rows
        if history_status(row) == "current" and not withdrawn(row)
    }
