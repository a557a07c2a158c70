"""Merge suggestions: for every candidate and rare tag, the canonical tag it most likely
stands for, with the evidence a person can check.

Evidence, strongest first: the same normalised form (case, separators, a plural ``s``:
``yolo-v4`` / ``yolov4``, ``benchmarks`` / ``benchmark``); a small edit distance relative to
the length, with transpositions counted as one edit (``pytroch``); the canonical name plus one
word (``nsfw-detection``); the serving model predicting the canonical tag for the candidate's
projects; and co-occurrence, which counts against: two tags often on the same project are two
different things. Names whose digits differ are never close (``yolov3`` is not ``yolov4``).
Identifier-like tags (arXiv ids, DOIs, conference-year tags) are not vocabulary at all; they are
listed apart so that they can be discarded (or left as candidates, which keeps them as
metadata with their projects without making them labels) in one step.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Prediction, SourceTag, Tag, TagAlias
from labeling import registry

RARE_MAX_PROJECTS = 3
MIN_SCORE = 0.6
_SEPARATORS = re.compile(r"[\s\-_.:#=+/]+")
_DIGITS = re.compile(r"\d+")
_CONFERENCES = (
    "cvpr|iccv|eccv|neurips|nips|icml|iclr|acl|emnlp|naacl|coling|kdd|aaai|ijcai|wacv|bmvc|"
    "interspeech|icassp|sigir|recsys|miccai|corl|icra|iros"
)
_IDENTIFIER = re.compile(
    rf"^(arxiv[:\-]?\d{{4}}\.\d{{4,5}}(v\d+)?|doi[:\-].+|({_CONFERENCES})[-_]?(19|20)?\d\d"
    r"|(19|20)\d\d|https?[:\-].+|www\..+|\d+(\.\d+)+)$"
)


@dataclass(frozen=True)
class MergeSuggestion:
    source: str
    target: str
    score: float
    source_kind: str  # "candidate" or "tag" (a rare one)
    source_projects: int
    evidence: tuple[str, ...]

    @property
    def pair(self) -> tuple[str, str]:
        return self.source, self.target


def normal_form(name: str) -> str:
    """Lower case without separators and without a plural ``s``: what two spellings of one
    tag have in common."""
    squashed = _SEPARATORS.sub("", name.lower())
    if len(squashed) > 3 and squashed.endswith("s") and not squashed.endswith("ss"):
        squashed = squashed[:-1]
    return squashed


def is_identifier(name: str) -> bool:
    return bool(_IDENTIFIER.match(name.lower()))


@dataclass(frozen=True)
class _Vocabulary:
    counts: dict[str, int]  # tag or candidate -> projects in its source tags
    candidates: set[str]
    spellings: dict[str, str]  # every canonical name and alias -> canonical tag
    projects: dict[str, set[int]]


def _vocabulary(session: Session) -> _Vocabulary:
    tags = session.execute(select(Tag.id, Tag.name, Tag.candidate)).all()
    names = {tag_id: name for tag_id, name, _ in tags}
    projects: dict[str, set[int]] = defaultdict(set)
    for project_id, tag_id in session.execute(select(SourceTag.project_id, SourceTag.tag_id)):
        projects[names[tag_id]].add(project_id)
    spellings = {name: name for _, name, candidate in tags if not candidate}
    for alias, tag_id in session.execute(select(TagAlias.alias, TagAlias.tag_id)):
        if names[tag_id] in spellings:
            spellings[alias] = names[tag_id]
    return _Vocabulary(
        counts={name: len(projects.get(name, ())) for _, name, _ in tags},
        candidates={name for _, name, candidate in tags if candidate},
        spellings=spellings,
        projects=projects,
    )


def identifier_tags(session: Session) -> list[tuple[str, int]]:
    """Candidate tags that look like identifiers, with their project counts, by name."""
    vocabulary = _vocabulary(session)
    return sorted(
        (name, vocabulary.counts[name]) for name in vocabulary.candidates if is_identifier(name)
    )


def merge_suggestions(
    session: Session, rare_max: int = RARE_MAX_PROJECTS, min_score: float = MIN_SCORE
) -> list[MergeSuggestion]:
    """Every candidate and rare tag (at most ``rare_max`` projects) with its most likely
    canonical tag, best first (score, then the projects the merge would reach). A rare tag of
    the taxonomy is only suggested for a merge when it is spelled like a more used tag: it was
    defined on purpose, and ``augmentation`` is two edits from ``segmentation``."""
    vocabulary = _vocabulary(session)
    subjects = [
        name
        for name, count in vocabulary.counts.items()
        if (name in vocabulary.candidates or count <= rare_max) and not is_identifier(name)
    ]
    spelled = _closest_spellings(subjects, vocabulary)
    predicted = _predicted_share(session, spelled, vocabulary)
    found = []
    for source, (target, score, evidence) in spelled.items():
        share, with_target = predicted.get(source, (0.0, 0)), vocabulary.projects[source]
        n = len(with_target)
        if share[1]:
            score += 0.3 * share[0]
            evidence = (*evidence, f"model predicts {target} for {share[1]} of {n} projects")
        together = len(with_target & vocabulary.projects.get(target, set()))
        if n and together / n >= 0.5:
            score -= 0.5
        if n:
            evidence = (*evidence, _together_line(target, together, n))
        if score >= min_score:
            kind = "candidate" if source in vocabulary.candidates else "tag"
            found.append(MergeSuggestion(source, target, round(score, 3), kind, n, evidence))
    return sorted(found, key=lambda s: (-s.score, -s.source_projects, s.source))


def _together_line(target: str, together: int, projects: int) -> str:
    if not together:
        return f"never on the same project as {target}"
    return f"on the same project as {target} in {together} of {projects}"


def _closest_spellings(
    subjects: list[str], vocabulary: _Vocabulary
) -> dict[str, tuple[str, float, tuple[str, ...]]]:
    """subject -> (canonical tag, score, evidence) for the best spelling match."""
    spellings = list(vocabulary.spellings)
    if not subjects or not spellings:
        return {}
    subject_forms = [normal_form(s) for s in subjects]
    spelling_forms = [normal_form(s) for s in spellings]
    distances = process.cdist(
        subject_forms, spelling_forms, scorer=OSA.distance, dtype=np.int32, score_cutoff=2
    )
    by_form: dict[str, list[int]] = defaultdict(list)
    for index, form in enumerate(spelling_forms):
        by_form[form].append(index)
    best: dict[str, tuple[str, float, tuple[str, ...]]] = {}
    for row, subject in enumerate(subjects):
        options = []
        for column in np.flatnonzero(distances[row] <= 2):
            target = vocabulary.spellings[spellings[column]]
            if not _may_merge(subject, target, vocabulary):
                continue
            scored = _spelling_score(subject, spellings[column], int(distances[row, column]))
            if scored and (scored[0] == 1.0 or subject in vocabulary.candidates):
                options.append((scored[0], vocabulary.counts[target], target, scored[1]))
        prefix = subject.rsplit("-", 1)[0]
        target = vocabulary.spellings.get(prefix, subject)
        if (
            len(prefix) >= 3
            and subject in vocabulary.candidates
            and _may_merge(subject, target, vocabulary)
        ):
            options.append((0.65, vocabulary.counts[target], target, f"{prefix} plus one word"))
        if options:
            score, _, target, evidence = max(options)
            best[subject] = (target, score, (evidence,))
    return best


def _may_merge(subject: str, target: str, vocabulary: _Vocabulary) -> bool:
    """A candidate may merge into any tag; a rare tag, which somebody defined on purpose,
    only into a tag with more projects, and only when both are spelled alike (the caller)."""
    if target == subject:
        return False
    if subject in vocabulary.candidates:
        return True
    return vocabulary.counts.get(target, 0) > vocabulary.counts[subject]


def _spelling_score(subject: str, spelling: str, distance: int) -> tuple[float, str] | None:
    if _DIGITS.findall(subject) != _DIGITS.findall(spelling):
        return None
    if distance == 0:
        return 1.0, f"same normalised form as {spelling}"
    length = max(len(normal_form(subject)), len(normal_form(spelling)))
    if distance == 1 and length >= 5:
        return 0.85, f"1 edit from {spelling}"
    if distance == 2 and length >= 9:
        return 0.7, f"2 edits from {spelling}"
    return None


def _predicted_share(
    session: Session,
    spelled: Mapping[str, tuple[str, float, tuple[str, ...]]],
    vocabulary: _Vocabulary,
) -> dict[str, tuple[float, int]]:
    """subject -> (share, count) of its projects for which the serving model predicts the
    suggested target at or above the target's threshold."""
    version = registry.current_version(session)
    if version is None or not spelled:
        return {}
    thresholds = version.thresholds or {}
    wanted = {p for subject in spelled for p in vocabulary.projects.get(subject, ())}
    probabilities: dict[int, dict[str, float]] = {}
    ids = sorted(wanted)
    for start in range(0, len(ids), 5_000):
        chunk = ids[start : start + 5_000]
        probabilities.update(
            session.execute(
                select(Prediction.project_id, Prediction.probabilities).where(
                    Prediction.model_version_id == version.id, Prediction.project_id.in_(chunk)
                )
            ).all()
        )
    shares = {}
    for subject, (target, _, _) in spelled.items():
        projects = vocabulary.projects.get(subject, set())
        limit = thresholds.get(target)
        if not projects or limit is None:
            continue
        hits = sum(probabilities.get(p, {}).get(target, 0.0) >= limit for p in projects)
        shares[subject] = (hits / len(projects), hits)
    return shares
