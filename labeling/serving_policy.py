"""How serving decides, before it looks at the catalogue: the serving settings, the route a
request takes (first or second opinion, label errors, uncertainty, random, evaluation) and the
stable pseudo-random draws behind them.

It lives apart from labeling.serving (the serving transaction and its queries) because these
are pure functions of the settings and of the user's judgement count, testable without a
database; labeling.project_actions shares the defaults.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from labeling.label_errors import DEFAULT_MIX_SHARE, DEFAULT_MIX_WITH
from labeling.registry import serving_strategy_name
from labeling.strategies import AUTO, LABEL_ERRORS, LABEL_ERRORS_MIX

DEFAULT_OVERLAP_SHARE = 0.2
DEFAULT_OVERLAP_K = 2
DEFAULT_LEASE_MINUTES = 10
DEFAULT_EVAL_SERVE_SHARE = 0.1
UNCERTAINTY = "uncertainty"
EVALUATION = "evaluation"
NEW_TOPIC = "new_topic"


@dataclass(frozen=True)
class ServingPolicy:
    """The serving settings, read from any settings-like object so that tests can pass a
    plain namespace with only the fields they care about."""

    overlap_share: float
    overlap_k: int
    lease_minutes: float
    strategy: str
    mix_share: float
    mix_with: str
    eval_serve_share: float
    new_topics_first: bool

    @classmethod
    def of(cls, settings_like: Any) -> ServingPolicy:
        return cls(
            overlap_share=float(getattr(settings_like, "overlap_share", DEFAULT_OVERLAP_SHARE)),
            overlap_k=int(getattr(settings_like, "overlap_k", DEFAULT_OVERLAP_K)),
            lease_minutes=float(getattr(settings_like, "lease_minutes", DEFAULT_LEASE_MINUTES)),
            strategy=serving_strategy_name(str(getattr(settings_like, "strategy", AUTO))),
            mix_share=float(getattr(settings_like, "mix_share", DEFAULT_MIX_SHARE)),
            mix_with=str(getattr(settings_like, "mix_with", DEFAULT_MIX_WITH)),
            eval_serve_share=float(
                getattr(settings_like, "eval_serve_share", DEFAULT_EVAL_SERVE_SHARE)
            ),
            new_topics_first=bool(getattr(settings_like, "new_topics_first", True)),
        )


# --- stable pseudo-randomness ----------------------------------------------------------------


def _unit_hash(text_value: str) -> float:
    """A number in [0, 1) that depends only on the text: Python's hash() is salted per
    process, so it would reorder the queue on every restart and make tests flaky."""
    digest = hashlib.sha256(text_value.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def overlap_draw(user_id: int, judgement_count: int) -> float:
    """The user's n-th draw in [0, 1): overlap is served when it is below the overlap share.
    Keyed on the user's judgement count so that a page reload repeats the same draw and tests
    are reproducible, while successive judgements see independent-looking draws."""
    return _unit_hash(f"overlap:{user_id}:{judgement_count}")


def mix_draw(user_id: int, judgement_count: int) -> float:
    """The user's n-th draw for a mixed strategy, independent of the overlap draw."""
    return _unit_hash(f"mix:{user_id}:{judgement_count}")


def random_draw(user_id: int, judgement_count: int) -> float:
    """Where in the catalogue a random pick starts looking, per user and judgement."""
    return _unit_hash(f"random:{user_id}:{judgement_count}")


def evaluation_draw(user_id: int, judgement_count: int) -> float:
    """The user's n-th draw for the evaluation share, independent of the other draws."""
    return _unit_hash(f"evaluation:{user_id}:{judgement_count}")


def wants_evaluation(policy: ServingPolicy, user_id: int, judgement_count: int) -> bool:
    """Whether this first-opinion request goes to a not-yet-verified evaluation project."""
    return evaluation_draw(user_id, judgement_count) < policy.eval_serve_share


def serving_route(policy: ServingPolicy, user_id: int, judgement_count: int) -> str:
    """Which order serves this request: ``label_errors`` (stored label-error scores),
    ``uncertainty`` (the stored strategy score) or ``random``. A mixed strategy sends its
    share of requests to its partner; every other strategy's order is its stored score."""
    if policy.strategy == LABEL_ERRORS:
        return LABEL_ERRORS
    if policy.strategy == LABEL_ERRORS_MIX:
        if mix_draw(user_id, judgement_count) < policy.mix_share:
            return policy.mix_with
        return LABEL_ERRORS
    return UNCERTAINTY


def stable_rank(external_id: str) -> float:
    """Cold-start order: a fixed shuffle of the catalogue, the same for every annotator and
    every restart, so that early labels spread over the catalogue instead of its import order."""
    return _unit_hash(f"order:{external_id}")
