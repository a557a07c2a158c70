"""Every project's text, split and effective label, as the training job and the label-error
detector read them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Project
from labeling.annotations import LabelState, all_label_states
from labeling.features import project_text


@dataclass(frozen=True)
class CorpusRows:
    """Every project's id, text, split and effective label, in id order."""

    ids: list[int]
    texts: list[str]
    splits: list[str]
    labels: list[frozenset[str] | None]


def training_label(state: LabelState) -> frozenset[str] | None:
    """A project's label for training and evaluation, or None when it has none: no label
    source at all, or untouched source tags that are empty (a project imported without tags
    says nothing about which tags apply, while a person's empty judgement does)."""
    usable = state.label_source != "none" and (state.tags or state.label_source != "source")
    return frozenset(state.tags) if usable else None


def load_corpus(session: Session, trust_source_tags: bool, title_repeats: int) -> CorpusRows:
    states = all_label_states(session, trust_source_tags)
    rows = session.execute(
        select(Project.id, Project.title, Project.description, Project.split).order_by(Project.id)
    ).all()
    labels = [training_label(states[project_id]) for project_id, *_ in rows]
    return CorpusRows(
        ids=[row[0] for row in rows],
        texts=[project_text(row[1], row[2], title_repeats) for row in rows],
        splits=[row[3] for row in rows],
        labels=labels,
    )
