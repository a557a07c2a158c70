"""What the Annotate page shows around a served project: the pre-selected tags, the evidence
and the model's suggestions as labelled lines, the tag choices with aliases, progress and
model status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Annotation, ModelVersion, Project, Tag, TagAlias, utcnow
from labeling.label_errors import preselected_changes, preselected_tags
from labeling.model import DEFAULT_THRESHOLD
from labeling.registry import current_version
from labeling.serving import ServedProject

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
    measured precision is high applied (``label_errors.PRESELECT_WEIGHT``; a fast annotator
    accepts what is pre-selected, so a wrong pre-selection is an error introduced). Every
    other suspected change and every model suggestion is an unselected hint. ``lines`` say
    it in words, one model figure per tag, each named for the model it comes from."""

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
    judged_today: int
    judged_total: int
    unjudged_projects: int
    projects: int


def progress(session: Session, user_id: int, now: datetime | None = None) -> Progress:
    midnight = datetime.combine((now or utcnow()).date(), time.min)
    mine = select(func.count()).select_from(Annotation).where(Annotation.user_id == user_id)
    judged_projects = select(func.count(Annotation.project_id.distinct())).where(
        Annotation.skipped.is_(False)
    )
    projects = session.scalar(select(func.count()).select_from(Project)) or 0
    return Progress(
        judged_today=session.scalar(mine.where(Annotation.created_at >= midnight)) or 0,
        judged_total=session.scalar(mine) or 0,
        unjudged_projects=projects - (session.scalar(judged_projects) or 0),
        projects=projects,
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


HISTORY_STATUSES = ("all", "current", "superseded", "skipped")


def filter_history(
    rows: list[dict[str, object]],
    days: tuple[date, ...] = (),
    tag: str | None = None,
    status: str = "all",
) -> list[dict[str, object]]:
    """My history's filters: one day or an inclusive range of days (as a date picker gives
    them), a tag (in the judged set, added or removed) and a status (current = the
    judgement that counts now)."""
    since = days[0] if days else None
    until = days[1] if len(days) > 1 else since
    if status not in HISTORY_STATUSES:
        raise ValueError(f"unknown status {status!r}; choose one of: {', '.join(HISTORY_STATUSES)}")

    def keep(row: dict[str, object]) -> bool:
        day = row["created_at"].date()  # type: ignore[attr-defined]
        if (since and day < since) or (until and day > until):
            return False
        touched = {*row["tags"], *row["added"], *row["removed"]}  # type: ignore[misc]
        if tag and tag not in touched:
            return False
        if status == "current":
            return not row["superseded"]
        if status == "superseded":
            return bool(row["superseded"])
        if status == "skipped":
            return bool(row["skipped"])
        return True

    return [row for row in rows if keep(row)]


def history_status(row: dict[str, object]) -> str:
    if row["skipped"]:
        return "skipped"
    return "superseded" if row["superseded"] else "current"


def history_table(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [
        {
            "when": row["created_at"],
            "project": row["external_id"],
            "title": row["title"],
            "tags": ", ".join(row["tags"]),  # type: ignore[arg-type]
            "added": ", ".join(row["added"]),  # type: ignore[arg-type]
            "removed": ", ".join(row["removed"]),  # type: ignore[arg-type]
            "status": history_status(row),
        }
        for row in rows
    ]
