"""Inter-annotator agreement: per tag, per annotator pair and overall, and how each annotator
compares with the others and with reviewers' resolutions.

A judgement is a complete tag set, so on a project every active tag is a yes/no decision of
each annotator who judged it. Agreement is measured on *items*: projects with the latest
non-skipped judgements of at least two annotators (a lone judgement agrees with nobody). Tags
that are not active are left out, so a retired tag does not inflate agreement.

For an item i and a tag, n_i annotators decided, p_i of them "present" and q_i = n_i - p_i
"absent". Counting ordered rater pairs (the pairwise form, valid for any n_i >= 2):

- observed agreement = Σ [p_i(p_i-1) + q_i(q_i-1)] / Σ n_i(n_i-1): the share of rater pairs
  that decided alike.
- positive agreement = Σ p_i(p_i-1) / Σ p_i(n_i-1): when one annotator applies the tag, how
  often another one does too. With two raters and the 2×2 counts a (both present), b, c (one
  each), d (both absent) this is 2a / (2a + b + c).
- negative agreement = Σ q_i(q_i-1) / Σ q_i(n_i-1); with two raters 2d / (2d + b + c).

Tags are sparse, so observed agreement and pooled chance-corrected figures are dominated by the
many "absent" decisions; positive agreement is the figure that shows whether people agree on a
tag when it matters. Chance-corrected figures come from well-kept libraries: Cohen's kappa of
an annotator pair (scikit-learn) on the pooled per-tag decisions of their shared projects, and
Krippendorff's alpha, nominal, across all annotators (krippendorff), which, unlike Fleiss'
kappa, allows a different number of annotators per project.

Every figure comes with its sample size and a ``status``, never a silent NaN:

- ``"ok"``: the figure is defined and rests on at least the minimum sample.
- ``"not enough data"``: fewer items (or shared projects) than the minimum, or, for a tag,
  fewer items on which anyone applied it (a tag used on 2 of 300 projects has an alpha that one
  decision swings from 0 to 1); figures that are defined are still given, but ``enough_data``
  is False and they should not be trusted.
- ``"one class only"``: every decision was the same (e.g. a tag nobody applied, or perfect
  agreement on "absent" everywhere); chance agreement is then 1, so kappa and alpha are
  undefined (None) and the raw observed agreement (1.0) is what there is to say. Perfect
  agreement with both classes present is not degenerate: kappa and alpha are 1.0.
- ``"no data"``: no item at all; ``"single rater"`` (overall only): fewer than two
  annotators have judged anything, so there is nobody to agree with.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Tag, User
from labeling.annotations import latest_judgements, latest_resolutions

MIN_ITEMS = 10
MIN_SHARED = 10
MIN_TAGGED = 5

OK = "ok"
NOT_ENOUGH_DATA = "not enough data"
ONE_CLASS = "one class only"
NO_DATA = "no data"
SINGLE_RATER = "single rater"

_MISSING = -1


@dataclass(frozen=True)
class AgreementReport:
    """Plain dicts, so that pages, the CLI's JSON and the charts need none of this module's
    types. Every row has ``enough_data``, ``status`` (module constants) and ``note`` (why a
    figure is not shown; "" when it stands); figures are floats or None, never NaN.

    - overall: annotators, projects (items), tags, decisions, disputed_projects,
      observed_agreement, positive_agreement, negative_agreement, alpha, kappa_mean (mean of
      the trusted pair kappas), kappa_pairs.
    - per_tag: tag, projects, tagged_projects (items where anyone applied it), decisions,
      positives, disputed_projects, disputed_share, observed/positive/negative_agreement,
      alpha, kappa_mean (over pairs with enough shared projects), kappa_pairs.
    - pairs: annotator_a, annotator_b, shared_projects, decisions, observed_agreement, kappa.
    - annotators: annotator, shared_projects, comparisons, agreement_with_others, kappa_mean,
      kappa_pairs, projects (all judged), resolved_projects, resolution_decisions,
      resolution_agreement, resolution_kappa, resolution_enough_data, resolution_status,
      resolution_note.
    - disputed: tag, disputed_projects, projects, share (most disputed first; no status).
    """

    overall: dict[str, Any]
    per_tag: list[dict[str, Any]]
    pairs: list[dict[str, Any]]
    annotators: list[dict[str, Any]]
    disputed: list[dict[str, Any]]
    min_items: int = MIN_ITEMS
    min_shared: int = MIN_SHARED
    min_tagged: int = MIN_TAGGED


def compute_agreement(
    session: Session,
    min_items: int = MIN_ITEMS,
    min_shared: int = MIN_SHARED,
    min_tagged: int = MIN_TAGGED,
) -> AgreementReport:
    """The agreement report of the database: latest judgements, latest resolutions, active
    tags; annotators are named by username."""
    usernames: dict[int, str] = dict(session.execute(select(User.id, User.username)).all())
    judgements = {
        project_id: {usernames[user_id]: tags for user_id, tags in by_user.items()}
        for project_id, by_user in latest_judgements(session).items()
    }
    tags = list(session.scalars(select(Tag.name).where(Tag.active).order_by(Tag.name)))
    return agreement_from_judgements(
        judgements, latest_resolutions(session), tags, min_items, min_shared, min_tagged
    )


def agreement_from_judgements(
    judgements: Mapping[int, Mapping[str, frozenset[str]]],
    resolutions: Mapping[int, frozenset[str]],
    tags: Iterable[str],
    min_items: int = MIN_ITEMS,
    min_shared: int = MIN_SHARED,
    min_tagged: int = MIN_TAGGED,
) -> AgreementReport:
    """The agreement report of project -> annotator -> latest tag set and project -> resolved
    tag set, over ``tags`` (the active ones; other tags in the sets are ignored)."""
    tags = list(dict.fromkeys(tags))
    annotators = sorted({name for by_name in judgements.values() for name in by_name})
    items = sorted(project for project, by_name in judgements.items() if len(by_name) >= 2)
    votes = _vote_tensor(judgements, annotators, items, tags)
    judged = np.array(
        [[name in judgements[project] for project in items] for name in annotators], dtype=bool
    ).reshape(len(annotators), len(items))
    present = (votes == 1).sum(axis=0)
    raters = judged.sum(axis=0)[:, np.newaxis].repeat(len(tags), axis=1)
    pairs, pair_tag_kappas = _pairs(votes, judged, annotators, tags, min_shared)
    per_tag = [
        _tag_row(tag, present[:, k], raters[:, k], pair_tag_kappas[tag], min_items, min_tagged)
        for k, tag in enumerate(tags)
    ]
    return AgreementReport(
        overall=_overall(present, raters, annotators, pairs, min_items),
        per_tag=per_tag,
        pairs=pairs,
        annotators=[
            _annotator_row(a, name, votes, judged, pairs, min_shared)
            | _resolution_figures(name, judgements, resolutions, tags, min_shared)
            for a, name in enumerate(annotators)
        ],
        disputed=_disputed(per_tag),
        min_items=min_items,
        min_shared=min_shared,
        min_tagged=min_tagged,
    )


def _vote_tensor(
    judgements: Mapping[int, Mapping[str, frozenset[str]]],
    annotators: list[str],
    items: list[int],
    tags: list[str],
) -> np.ndarray:
    """annotator × item × tag: 1 present, 0 absent, -1 the annotator did not judge the item."""
    tag_index = {tag: k for k, tag in enumerate(tags)}
    annotator_index = {name: a for a, name in enumerate(annotators)}
    votes = np.full((len(annotators), len(items), len(tags)), _MISSING, dtype=np.int8)
    for i, project in enumerate(items):
        for name, tag_set in judgements[project].items():
            row = votes[annotator_index[name], i]
            row[:] = 0
            row[[tag_index[tag] for tag in tag_set if tag in tag_index]] = 1
    return votes


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator else None


def _specific_agreement(present: np.ndarray, raters: np.ndarray) -> dict[str, float | None]:
    """Observed, positive and negative agreement pooled over the cells given (the pairwise
    formulas of the module docstring)."""
    absent = raters - present
    positive_pairs = float((present * (present - 1)).sum())
    negative_pairs = float((absent * (absent - 1)).sum())
    return {
        "observed_agreement": _ratio(
            positive_pairs + negative_pairs, (raters * (raters - 1)).sum()
        ),
        "positive_agreement": _ratio(positive_pairs, (present * (raters - 1)).sum()),
        "negative_agreement": _ratio(negative_pairs, (absent * (raters - 1)).sum()),
    }


def _alpha(present: np.ndarray, raters: np.ndarray) -> float | None:
    """Krippendorff's alpha (nominal), one unit per cell; None when one class only, where the
    library would divide zero by zero."""
    present = present.ravel()
    absent = raters.ravel() - present
    if not present.sum() or not absent.sum():
        return None
    counts = np.column_stack([absent, present])
    return float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))


def _kappa(first: np.ndarray, second: np.ndarray) -> float | None:
    """Cohen's kappa; None when both raters used one and the same class (chance agreement 1,
    where scikit-learn would return NaN)."""
    if first.size == 0 or len(np.union1d(first, second)) < 2:
        return None
    return float(cohen_kappa_score(first, second, labels=[0, 1]))


def _column_kappas(first: np.ndarray, second: np.ndarray) -> list[float | None]:
    """Cohen's kappa of each column (tag) of two raters' 0/1 decisions, None where undefined.

    The same statistic as ``_kappa``, from the 2×2 margins of every tag at once: scikit-learn
    validates its input for about 5 ms a call, which over 190 pairs of 20 annotators times 100
    tags would keep a page waiting for minutes (a test holds the two equal)."""
    observed = (first == second).mean(axis=0)
    p_first, p_second = first.mean(axis=0), second.mean(axis=0)
    chance = p_first * p_second + (1 - p_first) * (1 - p_second)
    return [
        None if expected >= 1.0 else float((agree - expected) / (1.0 - expected))
        for agree, expected in zip(observed, chance, strict=True)
    ]


def _assess(n: int, minimum: int, defined: bool, unit: str = "projects") -> tuple[str, str]:
    """(status, note) of a figure resting on ``n`` units; the note is what a reader is shown
    instead of the figure ("" when the figure stands)."""
    if n == 0:
        return NO_DATA, f"no data (n=0 {unit})"
    if n < minimum:
        return NOT_ENOUGH_DATA, f"not enough data (n={n} {unit})"
    if not defined:
        return ONE_CLASS, "one class only: kappa/alpha undefined"
    return OK, ""


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _pairs(
    votes: np.ndarray, judged: np.ndarray, annotators: list[str], tags: list[str], min_shared: int
) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    """One row per annotator pair sharing at least one project (kappa over their pooled per-tag
    decisions), and per tag the kappas of the pairs with enough shared projects where that
    tag's kappa is defined."""
    rows = []
    tag_kappas: dict[str, list[float]] = {tag: [] for tag in tags}
    for a, b in combinations(range(len(annotators)), 2):
        shared = judged[a] & judged[b]
        n_shared = int(shared.sum())
        if not n_shared:
            continue
        first, second = votes[a, shared, :], votes[b, shared, :]
        kappa = _kappa(first.ravel(), second.ravel())
        status, note = _assess(n_shared, min_shared, kappa is not None, "shared projects")
        if n_shared >= min_shared:
            for tag, tag_kappa in zip(tags, _column_kappas(first, second), strict=True):
                if tag_kappa is not None:
                    tag_kappas[tag].append(tag_kappa)
        rows.append(
            {
                "annotator_a": annotators[a],
                "annotator_b": annotators[b],
                "shared_projects": n_shared,
                "decisions": int(first.size),
                "observed_agreement": _ratio(float((first == second).sum()), first.size),
                "kappa": kappa,
                "enough_data": n_shared >= min_shared,
                "status": status,
                "note": note,
            }
        )
    return rows, tag_kappas


def _tag_row(
    tag: str,
    present: np.ndarray,
    raters: np.ndarray,
    pair_kappas: list[float],
    min_items: int,
    min_tagged: int,
) -> dict[str, Any]:
    projects = len(present)
    tagged = int((present > 0).sum())
    disputed = int(((present > 0) & (present < raters)).sum())
    alpha = _alpha(present, raters)
    status, note = _assess(projects, min_items, alpha is not None)
    if status == OK and tagged < min_tagged:
        status, note = NOT_ENOUGH_DATA, f"not enough data (n={tagged} tagged projects)"
    return {
        "tag": tag,
        "projects": projects,
        "tagged_projects": tagged,
        "decisions": int(raters.sum()),
        "positives": int(present.sum()),
        "disputed_projects": disputed,
        "disputed_share": _ratio(disputed, projects),
        **_specific_agreement(present, raters),
        "alpha": alpha,
        "kappa_mean": _mean(pair_kappas),
        "kappa_pairs": len(pair_kappas),
        "enough_data": status in (OK, ONE_CLASS),
        "status": status,
        "note": note,
    }


def _overall(
    present: np.ndarray,
    raters: np.ndarray,
    annotators: list[str],
    pairs: list[dict[str, Any]],
    min_items: int,
) -> dict[str, Any]:
    """Pooled over every (item, active tag) decision."""
    projects = present.shape[0]
    alpha = _alpha(present, raters)
    trusted_kappas = [p["kappa"] for p in pairs if p["enough_data"] and p["kappa"] is not None]
    disputed = ((present > 0) & (present < raters)).any(axis=1)
    status, note = _assess(projects, min_items, alpha is not None)
    if len(annotators) < 2:
        status, note = SINGLE_RATER, "single rater: nobody to agree with yet"
    return {
        "annotators": len(annotators),
        "projects": projects,
        "tags": present.shape[1],
        "decisions": int(raters.sum()),
        "disputed_projects": int(disputed.sum()),
        **_specific_agreement(present, raters),
        "alpha": alpha,
        "kappa_mean": _mean(trusted_kappas),
        "kappa_pairs": len(trusted_kappas),
        "enough_data": status in (OK, ONE_CLASS),
        "status": status,
        "note": note,
    }


def _annotator_row(
    a: int,
    name: str,
    votes: np.ndarray,
    judged: np.ndarray,
    pairs: list[dict[str, Any]],
    min_shared: int,
) -> dict[str, Any]:
    """Agreement with the others: of all (other annotator, project, tag) comparisons on the
    projects this annotator shares, the share decided alike; and the mean kappa of this
    annotator's pairs with enough shared projects."""
    mine = votes[a, judged[a], :]
    together = votes[:, judged[a], :]
    present = (together == 1).sum(axis=0)
    raters = (together != _MISSING).sum(axis=0)
    agreeing = np.where(mine == 1, present - 1, raters - present - 1)
    comparisons = int((raters - 1).sum())
    shared = int(judged[a].sum())
    own_pairs = [p for p in pairs if name in (p["annotator_a"], p["annotator_b"])]
    trusted_kappas = [p["kappa"] for p in own_pairs if p["enough_data"] and p["kappa"] is not None]
    status, note = _assess(shared, min_shared, comparisons > 0, "shared projects")
    return {
        "annotator": name,
        "shared_projects": shared,
        "comparisons": comparisons,
        "agreement_with_others": _ratio(float(agreeing.sum()), comparisons),
        "kappa_mean": _mean(trusted_kappas),
        "kappa_pairs": len(trusted_kappas),
        "enough_data": shared >= min_shared,
        "status": status,
        "note": note,
    }


def _resolution_figures(
    name: str,
    judgements: Mapping[int, Mapping[str, frozenset[str]]],
    resolutions: Mapping[int, frozenset[str]],
    tags: list[str],
    min_shared: int,
) -> dict[str, Any]:
    """On the projects this annotator judged that have a resolution: the share of per-tag
    decisions equal to the resolved set, and kappa against it. Resolutions exist mostly where
    annotators disagreed, so these run lower than agreement on random projects would."""
    resolved = sorted(
        p for p, by_name in judgements.items() if name in by_name and p in resolutions
    )
    own = _decisions([judgements[project][name] for project in resolved], tags)
    final = _decisions([resolutions[project] for project in resolved], tags)
    kappa = _kappa(own.ravel(), final.ravel())
    status, note = _assess(len(resolved), min_shared, kappa is not None, "resolved projects")
    return {
        "projects": sum(1 for by_name in judgements.values() if name in by_name),
        "resolved_projects": len(resolved),
        "resolution_decisions": int(own.size),
        "resolution_agreement": _ratio(float((own == final).sum()), own.size),
        "resolution_kappa": kappa,
        "resolution_enough_data": len(resolved) >= min_shared,
        "resolution_status": status,
        "resolution_note": note,
    }


def _decisions(tag_sets: list[frozenset[str]], tags: list[str]) -> np.ndarray:
    return np.array(
        [[tag in tag_set for tag in tags] for tag_set in tag_sets], dtype=np.int8
    ).reshape(len(tag_sets), len(tags))


def _disputed(per_tag: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tags disputed on at least one item, most disputed first (ties: larger share, name)."""
    rows = [
        {
            "tag": row["tag"],
            "disputed_projects": row["disputed_projects"],
            "projects": row["projects"],
            "share": row["disputed_share"],
            "enough_data": row["enough_data"],
        }
        for row in per_tag
        if row["disputed_projects"]
    ]
    return sorted(rows, key=lambda row: (-row["disputed_projects"], -row["share"], row["tag"]))


def report_json(report: AgreementReport) -> dict[str, Any]:
    """The report as JSON-safe data (a NaN or infinity, should one slip in, becomes None)."""
    return _json_safe(asdict(report))


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _shown(value: float | None, status: str, note: str) -> str:
    """A figure, or the note that says why it is not shown."""
    if status in (NOT_ENOUGH_DATA, NO_DATA):
        return note
    if value is None:
        return "undefined (one class only)"
    return f"{value:.3f}"


def report_text(report: AgreementReport) -> str:
    """The readable report of ``python -m labeling agreement``."""
    lines = _overall_lines(report)
    if report.overall["status"] in (SINGLE_RATER, NO_DATA):
        return "\n".join(lines) + "\n"
    lines += ["", "Per tag (weakest alpha first):", *_tag_lines(report.per_tag)]
    lines += [
        "",
        "Annotator pairs (Cohen's kappa on the pooled per-tag decisions of shared projects):",
        *_pair_lines(report.pairs),
        "",
        "Annotators (agreement with the others on shared projects, and with resolutions):",
        *_annotator_lines(report.annotators),
        "",
        "Most disputed tags (projects where annotators differ on the tag):",
        *_disputed_lines(report.disputed),
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _overall_lines(report: AgreementReport) -> list[str]:
    overall = report.overall
    head = (
        f"Agreement: {overall['annotators']} annotators, {overall['projects']} projects judged "
        f"by at least two of them, {overall['tags']} active tags, {overall['decisions']} "
        f"decisions (minimum {report.min_items} projects per figure, {report.min_shared} "
        f"shared projects per pair, {report.min_tagged} tagged projects per tag)."
    )
    if overall["status"] in (SINGLE_RATER, NO_DATA, NOT_ENOUGH_DATA):
        return [head, f"Overall: {overall['note']}."]
    return [
        head,
        f"Overall: observed {_figure(overall['observed_agreement'])}, "
        f"positive {_figure(overall['positive_agreement'])}, "
        f"negative {_figure(overall['negative_agreement'])}, "
        f"Krippendorff's alpha {_shown(overall['alpha'], overall['status'], overall['note'])}, "
        f"mean pair kappa {_figure(overall['kappa_mean'])} over {overall['kappa_pairs']} "
        f"pair(s); {overall['disputed_projects']} of {overall['projects']} projects disputed "
        "on at least one tag.",
    ]


def weakest_first(per_tag: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-tag rows by trusted alpha ascending, then the tags whose alpha cannot be trusted or
    is undefined (by name): the order in which to look at tag definitions."""

    def key(row: dict[str, Any]) -> tuple[int, float, str]:
        trusted = row["status"] == OK
        return (0 if trusted else 1, row["alpha"] if trusted else 0.0, row["tag"])

    return sorted(per_tag, key=key)


def _tag_lines(per_tag: list[dict[str, Any]]) -> list[str]:
    width = max([len(row["tag"]) for row in per_tag] + [3])
    header = "projects  tagged  disputed  positive  negative     alpha  mean kappa  note"
    lines = [f"  {'tag':<{width}}  {header}"]
    for row in weakest_first(per_tag):
        hidden = row["status"] in (NOT_ENOUGH_DATA, NO_DATA)
        figures = [
            "-" if hidden else _figure(row[key])
            for key in ("positive_agreement", "negative_agreement", "alpha", "kappa_mean")
        ]
        lines.append(
            f"  {row['tag']:<{width}}  {row['projects']:>8}  {row['tagged_projects']:>6}  "
            f"{row['disputed_projects']:>8}  {figures[0]:>8}  {figures[1]:>8}  "
            f"{figures[2]:>8}  {figures[3]:>10}  {row['note']}"
        )
    return lines


def _pair_lines(pairs: list[dict[str, Any]]) -> list[str]:
    if not pairs:
        return ["  no two annotators share a project"]
    return [
        f"  {pair['annotator_a']} / {pair['annotator_b']}: {pair['shared_projects']} shared "
        f"projects, observed {_figure(pair['observed_agreement'])}, "
        f"kappa {_shown(pair['kappa'], pair['status'], pair['note'])}"
        for pair in pairs
    ]


def _annotator_lines(annotators: list[dict[str, Any]]) -> list[str]:
    lines = []
    for row in annotators:
        with_others = _shown(row["agreement_with_others"], row["status"], row["note"])
        if row["resolution_status"] in (NOT_ENOUGH_DATA, NO_DATA):
            resolution = row["resolution_note"]
        else:
            resolution = (
                f"{_figure(row['resolution_agreement'])}, kappa "
                f"{_shown(row['resolution_kappa'], row['resolution_status'], '')} "
                f"({row['resolved_projects']} resolved projects)"
            )
        lines.append(
            f"  {row['annotator']}: {row['projects']} projects, {row['shared_projects']} "
            f"shared; agreement with others {with_others}, mean pair kappa "
            f"{_figure(row['kappa_mean'])} over {row['kappa_pairs']} pair(s); "
            f"vs resolutions {resolution}"
        )
    return lines


def _disputed_lines(disputed: list[dict[str, Any]], shown: int = 10) -> list[str]:
    if not disputed:
        return ["  none"]
    lines = [
        f"  {row['tag']}: {row['disputed_projects']} of {row['projects']} projects "
        f"({row['share']:.1%})"
        for row in disputed[:shown]
    ]
    if len(disputed) > shown:
        lines.append(f"  ... and {len(disputed) - shown} more tags disputed at least once")
    return lines
