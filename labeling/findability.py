"""What a searcher finds under one tag: the projects carrying it in the source tags, in the
effective labels and in the model's predictions, side by side, with the projects each set
gains and loses against the source tags. The Insights coverage figures, one project at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import EffectiveTag, PredictedTag, Project, ProjectState, SourceTag, Tag
from labeling.registry import current_version

GAINED = "gained"
LOST = "lost"


@dataclass(frozen=True)
class TagFindings:
    tag: str
    source: frozenset[int]
    effective: frozenset[int]
    predicted: frozenset[int] | None  # None: no model version is ready

    def counts(self) -> dict[str, int | None]:
        return {
            "source tags": len(self.source),
            "effective labels": len(self.effective),
            "model predictions": None if self.predicted is None else len(self.predicted),
        }

    def changes(self) -> dict[str, dict[str, int]]:
        """Projects gained and lost against the source tags, per label set."""
        changes = {
            "effective labels": {
                GAINED: len(self.effective - self.source),
                LOST: len(self.source - self.effective),
            }
        }
        if self.predicted is not None:
            changes["model predictions"] = {
                GAINED: len(self.predicted - self.source),
                LOST: len(self.source - self.predicted),
            }
        return changes


def tag_findings(session: Session, tag: str, trust_source_tags: bool) -> TagFindings:
    tagged = select(SourceTag.project_id, Tag.candidate).join(Tag, Tag.id == SourceTag.tag_id)
    rows = session.execute(tagged.where(Tag.name == tag)).all()
    source = frozenset(project_id for project_id, _ in rows)
    # A candidate tag is kept with the source tags but is never a label.
    source_labels = [project_id for project_id, candidate in rows if not candidate]
    labels = select(EffectiveTag.project_id).where(EffectiveTag.tag == tag)
    decided = frozenset(session.scalars(labels))
    untouched: frozenset[int] = frozenset()
    if trust_source_tags:
        deciding = select(ProjectState.project_id).where(ProjectState.label_source.is_not(None))
        untouched = frozenset(source_labels) - frozenset(session.scalars(deciding))
    version = current_version(session)
    predicted = None
    if version is not None:
        predicted = frozenset(
            session.scalars(
                select(PredictedTag.project_id).where(
                    PredictedTag.model_version_id == version.id, PredictedTag.tag == tag
                )
            )
        )
    return TagFindings(tag, source, frozenset(decided | untouched), predicted)


def findings_table(session: Session, findings: TagFindings, limit: int = 200) -> pd.DataFrame:
    """The projects whose findability under the tag changed (in one set and not in another),
    effective-label changes first, then by title; at most ``limit`` rows. Columns: id, title,
    the three sets as booleans, and the change of the effective labels and of the model."""
    sets = [findings.source, findings.effective]
    if findings.predicted is not None:
        sets.append(findings.predicted)
    predicted = findings.predicted or frozenset()
    changed = [p for p in frozenset().union(*sets) if len({p in s for s in sets}) > 1]
    columns = [
        "id",
        "title",
        "source tags",
        "effective labels",
        "model predictions",
        "effective change",
        "model change",
    ]
    if not changed:
        return pd.DataFrame(columns=columns)
    titles = dict(
        session.execute(select(Project.id, Project.title).where(Project.id.in_(changed))).all()
    )
    rows = [
        {
            "id": p,
            "title": titles[p],
            "source tags": p in findings.source,
            "effective labels": p in findings.effective,
            "model predictions": None if findings.predicted is None else p in predicted,
            "effective change": _change(p, findings.source, findings.effective),
            "model change": ""
            if findings.predicted is None
            else _change(p, findings.source, predicted),
        }
        for p in changed
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame["_order"] = (frame["effective change"] == "").astype(int)
    frame = frame.sort_values(["_order", "title", "id"], kind="stable").drop(columns="_order")
    return frame.head(limit).reset_index(drop=True)


def _change(project_id: int, before: frozenset[int], after: frozenset[int]) -> str:
    if project_id in after and project_id not in before:
        return GAINED
    if project_id in before and project_id not in after:
        return LOST
    return ""
