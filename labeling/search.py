"""Finding projects: full-text search with each database's own engine, filters, sort, pages.

Why it is shaped like this:

* Words are matched by the database (SQLite FTS5 with the Porter stemmer, PostgreSQL
  ``tsvector`` with the English configuration; migration 0008), never by LIKE over 100,000
  descriptions. Both are fed the same list of words, every word required, so "transformer
  models" means the same on both; a title match ranks above a description match on both.
* Status and effective labels are read from the rows labeling.project_state keeps with every
  judgement (``project_states``, ``effective_tags``): a project without a row is unlabeled,
  and one whose judgements decide no label takes its source tags when they are trusted.
  Deriving them per search cost 0.2-1 s for 5,000 judged projects.
* Predicted tags are the serving version's rows of ``predicted_tags`` (probability at or above
  the tag's threshold, stored with the predictions), not a read of the JSON probabilities.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    not_,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from db.models import (
    Annotation,
    EffectiveTag,
    ImportBatch,
    ModelVersion,
    PredictedTag,
    Prediction,
    Project,
    ProjectState,
    SourceTag,
    Tag,
    User,
)
from labeling.annotations import STATUSES
from labeling.project_state import effective_state, stored_states
from labeling.registry import current_version

TAG_SETS = ("source", "effective", "predicted")
SORTS = ("relevance", "newest", "title", "suspect")
PAGE_SIZES = (25, 50, 100)
MAX_PAGE_SIZE = 200
# SQLite bm25 weights per FTS column: a word in the title counts ten times one in the text.
TITLE_WEIGHT = 10.0
_WORD = re.compile(r"\w+", re.UNICODE)


class SearchError(ValueError):
    """A search that cannot run as asked (unknown sort, tag set, status); shown to the user."""


@dataclass(frozen=True)
class ProjectQuery:
    """Everything the Projects page can ask for; the defaults find every project, newest
    first. ``tag_in`` says under which labels ``tag`` is looked for."""

    text: str = ""
    tag: str | None = None
    tag_in: str = "source"
    status: str | None = None
    suspected: bool = False
    split: str | None = None
    batch_id: int | None = None
    annotator_id: int | None = None
    sort: str = "relevance"
    page: int = 1
    page_size: int = 25


@dataclass(frozen=True)
class ProjectRow:
    id: int
    external_id: str
    title: str
    status: str
    source_tags: tuple[str, ...]
    effective_tags: tuple[str, ...]
    predicted_tags: tuple[str, ...]
    label_error_score: float | None


@dataclass(frozen=True)
class SearchPage:
    total: int
    page: int
    page_size: int
    rows: list[ProjectRow] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def search_words(text_value: str) -> list[str]:
    """The words of a search box, lower-cased: punctuation and FTS/tsquery operators are
    dropped, so any input is a valid query and means "all of these words"."""
    return [word.lower() for word in _WORD.findall(text_value)]


def check_query(query: ProjectQuery) -> None:
    if query.sort not in SORTS:
        raise SearchError(f"Unknown sort {query.sort!r}; choose one of: {', '.join(SORTS)}.")
    if query.tag_in not in TAG_SETS:
        raise SearchError(
            f"Unknown tag set {query.tag_in!r}; choose one of: {', '.join(TAG_SETS)}."
        )
    if query.status is not None and query.status not in STATUSES:
        raise SearchError(f"Unknown status {query.status!r}; choose one of: {', '.join(STATUSES)}.")
    if query.page < 1 or not 1 <= query.page_size <= MAX_PAGE_SIZE:
        raise SearchError(f"Pages start at 1 and hold 1 to {MAX_PAGE_SIZE} projects.")


def search_projects(session: Session, query: ProjectQuery, trust_source_tags: bool) -> SearchPage:
    """One page of the projects matching ``query``, with the total, in ranking order.

    With words, the database's text index is asked first, alone, for the matching ids and
    their scores; the filters then run over those ids only. Left to one joined statement,
    both planners sometimes drove the join from a filter (20,000 eval projects, each probing
    the text index) and took seconds at 100,000 projects."""
    check_query(query)
    version = current_version(session)
    words = search_words(query.text)
    scores = _text_scores(session, words) if words else None
    matching = _matching(session, query, version, trust_source_tags, scores)
    start = (query.page - 1) * query.page_size
    if scores is not None and query.sort == "relevance":
        found = session.scalars(matching).all()
        ranked = sorted(found, key=lambda project_id: (-scores[project_id], -project_id))
        total, ids = len(ranked), ranked[start : start + query.page_size]
    else:
        total = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
        ordered = _ordered(matching, query, version)
        ids = list(session.scalars(ordered.limit(query.page_size).offset(start)))
    return SearchPage(
        total, query.page, query.page_size, project_rows(session, ids, trust_source_tags, version)
    )


# --- the query -------------------------------------------------------------------------------


def _matching(
    session: Session,
    query: ProjectQuery,
    version: ModelVersion | None,
    trust_source_tags: bool,
    scores: dict[int, float] | None,
) -> Select[Any]:
    """The matching project ids, as a select of Project.id."""
    matching: Select[Any] = select(Project.id)
    if scores is not None:
        matching = matching.where(_id_in(session, Project.id, scores.keys()))
    if query.split is not None:
        matching = matching.where(Project.split == query.split)
    if query.batch_id is not None:
        matching = matching.where(Project.imported_in_id == query.batch_id)
    if query.annotator_id is not None:
        matching = matching.where(_judged_by(query.annotator_id))
    # The text matches, repeated inside the prediction subquery: without it PostgreSQL reads
    # every prediction of the version.
    within = None if scores is None else _id_in(session, Prediction.project_id, scores.keys())
    if query.suspected:
        matching = matching.where(_suspected(version, within))
    if query.status is not None:
        matching = matching.where(_has_status(query.status))
    if query.tag:
        matching = matching.where(_has_tag(query.tag, query.tag_in, version, trust_source_tags))
    return matching


def _text_scores(session: Session, words: list[str]) -> dict[int, float]:
    """project id -> text score (higher is better) of every project holding all the words."""
    if _dialect(session) == "sqlite":
        # Each word quoted: FTS5 reads it as a plain term, never as an operator or column name.
        fts_query = " ".join('"' + word.replace('"', '""') + '"' for word in words)
        rows = session.execute(
            text(
                "SELECT rowid, -bm25(projects_fts, :title_weight, 1.0) FROM projects_fts "
                "WHERE projects_fts MATCH :fts_query"
            ),
            {"fts_query": fts_query, "title_weight": TITLE_WEIGHT},
        )
    else:
        vector = literal_column("projects.search_vector")
        tsquery = func.plainto_tsquery("english", " ".join(words))
        rows = session.execute(
            select(Project.id, func.ts_rank(vector, tsquery)).where(vector.op("@@")(tsquery))
        )
    return {int(project_id): float(score) for project_id, score in rows}


def _ordered(
    matching: Select[Any], query: ProjectQuery, version: ModelVersion | None
) -> Select[Any]:
    """Project ids in the asked order; ties always fall back to the newest project first so
    that paging is stable. Relevance without words is newest first."""
    found = matching.subquery("matching")
    ordered = select(found.c.id).join(Project, Project.id == found.c.id)
    if query.sort == "title":
        return ordered.order_by(func.lower(Project.title), Project.id.desc())
    if query.sort == "suspect" and version is not None:
        ordered = ordered.outerjoin(
            Prediction,
            and_(Prediction.project_id == Project.id, Prediction.model_version_id == version.id),
        )
        return ordered.order_by(
            func.coalesce(Prediction.label_error_score, 0.0).desc(), Project.id.desc()
        )
    return ordered.order_by(Project.id.desc())


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _id_in(session: Session, column: Any, ids: Collection[int]) -> ColumnElement[bool]:
    """``column IN ids`` as one bound parameter, so that thousands of ids neither hit
    SQLite's variable limit nor build a statement per length."""
    values = sorted(ids)
    if _dialect(session) == "sqlite":
        listed = select(literal_column("value", Integer)).select_from(
            func.json_each(json.dumps(values))
        )
        return column.in_(listed.scalar_subquery())
    # IN (unnest(...)) lets PostgreSQL hash the list; "= ANY(array)" scans it for every row.
    return column.in_(select(func.unnest(bindparam(None, values, type_=ARRAY(Integer)))))


def _judged_by(user_id: int) -> ColumnElement[bool]:
    return exists().where(
        Annotation.project_id == Project.id,
        Annotation.user_id == user_id,
        Annotation.skipped.is_(False),
    )


def _suspected(version: ModelVersion | None, within: Any = None) -> ColumnElement[bool]:
    if version is None:
        return literal_column("1") == 0
    return exists().where(
        true() if within is None else within,
        Prediction.project_id == Project.id,
        Prediction.model_version_id == version.id,
        Prediction.label_error_score > 0,
    )


def _has_status(status: str) -> ColumnElement[bool]:
    if status == "unlabeled":
        return not_(exists().where(ProjectState.project_id == Project.id))
    return exists().where(ProjectState.project_id == Project.id, ProjectState.status == status)


def _has_source_tag(tag: str, labels_only: bool = False) -> ColumnElement[bool]:
    """``labels_only``: not when the tag is a candidate, which is never a label."""
    tag_id = select(Tag.id).where(Tag.name == tag)
    if labels_only:
        tag_id = tag_id.where(Tag.candidate.is_(False))
    return exists().where(
        SourceTag.project_id == Project.id, SourceTag.tag_id == tag_id.scalar_subquery()
    )


def _has_tag(
    tag: str, tag_in: str, version: ModelVersion | None, trust_source_tags: bool
) -> ColumnElement[bool]:
    if tag_in == "source":
        return _has_source_tag(tag)
    if tag_in == "predicted":
        return _predicted(tag, version)
    decided = exists().where(EffectiveTag.project_id == Project.id, EffectiveTag.tag == tag)
    if not trust_source_tags:
        return decided
    undecided = not_(
        exists().where(
            ProjectState.project_id == Project.id, ProjectState.label_source.is_not(None)
        )
    )
    return or_(decided, and_(undecided, _has_source_tag(tag, labels_only=True)))


def _predicted(tag: str, version: ModelVersion | None) -> ColumnElement[bool]:
    if version is None:
        return literal_column("1") == 0
    return exists().where(
        PredictedTag.model_version_id == version.id,
        PredictedTag.tag == tag,
        PredictedTag.project_id == Project.id,
    )


# --- the rows of a page ----------------------------------------------------------------------


def source_tags_of(session: Session, project_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """project id -> its source tag names, sorted. Names are looked up in Python and rows read
    through the Core connection: for 5,000 projects the ORM's per-row work and a join that
    repeats each name cost more than the query."""
    ids = list(project_ids)
    if not ids:
        return {}
    names = dict(session.execute(select(Tag.id, Tag.name)).all())
    rows = session.connection().execute(
        select(SourceTag.project_id, SourceTag.tag_id).where(
            _id_in(session, SourceTag.project_id, ids)
        )
    )
    found: dict[int, list[str]] = {}
    for project_id, tag_id in rows:
        found.setdefault(project_id, []).append(names[tag_id])
    return {project_id: tuple(sorted(tags)) for project_id, tags in found.items()}


def predicted_tags_of(
    session: Session, project_ids: Iterable[int], version: ModelVersion | None
) -> dict[int, tuple[tuple[str, ...], float | None]]:
    """project id -> (tags at or above their threshold, label-error score) under ``version``."""
    ids = list(project_ids)
    if version is None or not ids:
        return {}
    thresholds = version.thresholds or {}
    rows = session.execute(
        select(Prediction.project_id, Prediction.probabilities, Prediction.label_error_score)
        .where(Prediction.model_version_id == version.id)
        .where(_id_in(session, Prediction.project_id, ids))
    )
    return {
        project_id: (
            tuple(
                sorted(
                    tag
                    for tag, p in (probabilities or {}).items()
                    if tag in thresholds and p >= thresholds[tag]
                )
            ),
            score,
        )
        for project_id, probabilities, score in rows
    }


def project_rows(
    session: Session,
    ids: list[int],
    trust_source_tags: bool,
    version: ModelVersion | None,
) -> list[ProjectRow]:
    """Rows for a page of projects, in the order of ``ids``: a handful of queries per page."""
    if not ids:
        return []
    projects = {
        p.id: p
        for p in session.execute(
            select(Project.id, Project.external_id, Project.title).where(
                _id_in(session, Project.id, ids)
            )
        )
    }
    stored = stored_states(session, ids)
    sources = source_tags_of(session, ids)
    candidates = set(session.scalars(select(Tag.name).where(Tag.candidate.is_(True))))
    predictions = predicted_tags_of(session, ids, version)
    rows = []
    for project_id in ids:
        labels = [tag for tag in sources.get(project_id, ()) if tag not in candidates]
        state = effective_state(stored.get(project_id), labels, trust_source_tags)
        predicted, score = predictions.get(project_id, ((), None))
        project = projects[project_id]
        rows.append(
            ProjectRow(
                id=project_id,
                external_id=project.external_id,
                title=project.title,
                status=state.status,
                source_tags=sources.get(project_id, ()),
                effective_tags=state.tags,
                predicted_tags=predicted,
                label_error_score=score,
            )
        )
    return rows


def rows_table(rows: Iterable[ProjectRow]) -> list[dict[str, Any]]:
    """The result rows as the page's table shows them (tags joined, score rounded)."""
    return [
        {
            "id": row.id,
            "title": row.title,
            "status": row.status,
            "source tags": ", ".join(row.source_tags),
            "effective labels": ", ".join(row.effective_tags),
            "model predicts": ", ".join(row.predicted_tags),
            "label-error score": None
            if row.label_error_score is None
            else round(row.label_error_score, 3),
        }
        for row in rows
    ]


@dataclass(frozen=True)
class FilterChoices:
    """What the Projects page's filters offer: active tags, import batches and annotators."""

    tags: list[str]
    batches: list[tuple[int, str]]
    annotators: list[tuple[int, str]]


def filter_choices(session: Session) -> FilterChoices:
    batches = session.execute(
        select(ImportBatch.id, ImportBatch.filename, ImportBatch.created_at).order_by(
            ImportBatch.id.desc()
        )
    ).all()
    judges = select(Annotation.user_id).distinct().scalar_subquery()
    return FilterChoices(
        tags=list(session.scalars(select(Tag.name).where(Tag.active.is_(True)).order_by(Tag.name))),
        batches=[(b.id, f"#{b.id} {b.filename} ({b.created_at:%Y-%m-%d})") for b in batches],
        annotators=[
            (u.id, u.username)
            for u in session.execute(
                select(User.id, User.username).where(User.id.in_(judges)).order_by(User.username)
            )
        ],
    )
