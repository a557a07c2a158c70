"""A simulated person at the Annotate page, and the count of what their judgement did.

Anything pre-selected is mostly accepted (automation bias), so the simulator must not assume
the annotator always types the truth: with probability ``a`` the simulated annotator submits
the pre-selection as shown; otherwise they type the true tags, getting each tag right with
probability ``q`` (every tag they consider: the true tags, the current ones and the
pre-selected ones). Errors fixed and errors introduced are counted per tag against the truth,
so a policy that pre-selects wrong changes shows up as errors introduced, not as nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Annotator:
    accept_rate: float  # a: probability of submitting the pre-selection unchanged
    accuracy: float = 1.0  # q: per-tag probability of getting a considered tag right

    def __post_init__(self) -> None:
        for name, value in (("accept rate", self.accept_rate), ("accuracy", self.accuracy)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"annotator {name} must be between 0 and 1; got {value}")


def judgement(
    annotator: Annotator,
    current: Iterable[str],
    preselected: Iterable[str],
    truth: Iterable[str],
    generator: np.random.Generator,
) -> frozenset[str]:
    """The tag set the simulated annotator submits. One draw decides accepting; when typing,
    one draw per considered tag, in sorted order so a seed gives the same judgement in every
    process."""
    shown, true = frozenset(preselected), frozenset(truth)
    if generator.random() < annotator.accept_rate:
        return shown
    considered = sorted(true | shown | frozenset(current))
    return frozenset(
        tag for tag in considered if (tag in true) == (generator.random() < annotator.accuracy)
    )


@dataclass(frozen=True)
class TagChanges:
    fixed: int
    introduced: int
    changes: int
    right_changes: int

    @property
    def net(self) -> int:
        return self.fixed - self.introduced


def tag_changes(before: Iterable[str], after: Iterable[str], truth: Iterable[str]) -> TagChanges:
    """What going from ``before`` to ``after`` did against ``truth``: tag errors fixed and
    introduced, tags changed and how many of those changes were right."""
    old, new, true = set(before), set(after), set(truth)
    changed = old ^ new
    return TagChanges(
        fixed=len((old ^ true) - (new ^ true)),
        introduced=len((new ^ true) - (old ^ true)),
        changes=len(changed),
        right_changes=sum((tag in new) == (tag in true) for tag in changed),
    )
