"""Settings for LabelLoop, read once from ``LABELLOOP_*`` environment variables.

One frozen object so that every part of the app (pages, CLI, worker) sees the same values and
tests can build their own without touching the process environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A LABELLOOP_* variable has a value LabelLoop cannot use."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    trust_source_tags: bool = True
    max_sign_in_failures: int = 5
    lockout_seconds: int = 60
    max_text_chars: int = 20_000
    max_import_bytes: int = 200 * 1024 * 1024
    strategy: str = "auto"
    mix_share: float = 0.2
    mix_with: str = "uncertainty"
    eval_serve_share: float = 0.1
    new_topics_first: bool = True
    min_positives: int = 5
    training_stale_seconds: int = 600
    overlap_share: float = 0.2
    overlap_k: int = 2
    lease_minutes: int = 10
    retrain_every: int = 25
    label_errors: bool = True
    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_busy_timeout_ms: int = 30_000
    db_write_retries: int = 3
    min_eval_support: int = 10
    promotion_rule: str = "not_worse"
    session_hours: int = 24
    session_idle_minutes: int = 120


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be greater than 0")
    return value


def _non_negative_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if not raw.strip().isdigit():
        raise ConfigError(f"{name}={raw!r} must be a whole number, 0 or more")
    return int(raw)


def _share(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}={raw!r} must be between 0 and 1")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.strip() not in choices:
        raise ConfigError(f"{name}={raw!r} must be one of: {', '.join(choices)}")
    return raw.strip()


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from the environment; relative paths are taken from the project root so
    that the app, the CLI and the tests agree whatever directory they are started from."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("LABELLOOP_DATA_DIR") or PROJECT_ROOT / "data")
    if not data_dir.is_absolute():
        data_dir = PROJECT_ROOT / data_dir
    database_url = env.get("LABELLOOP_DATABASE_URL") or f"sqlite:///{data_dir / 'labelloop.db'}"
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        trust_source_tags=_bool(env, "LABELLOOP_TRUST_SOURCE_TAGS", True),
        max_sign_in_failures=_positive_int(env, "LABELLOOP_MAX_SIGN_IN_FAILURES", 5),
        lockout_seconds=_positive_int(env, "LABELLOOP_LOCKOUT_SECONDS", 60),
        max_text_chars=_positive_int(env, "LABELLOOP_MAX_TEXT_CHARS", 20_000),
        max_import_bytes=_positive_int(env, "LABELLOOP_MAX_IMPORT_BYTES", 200 * 1024 * 1024),
        strategy=env.get("LABELLOOP_STRATEGY") or "auto",
        mix_share=_share(env, "LABELLOOP_MIX_SHARE", 0.2),
        mix_with=_choice(env, "LABELLOOP_MIX_WITH", ("uncertainty", "random"), "uncertainty"),
        eval_serve_share=_share(env, "LABELLOOP_EVAL_SERVE_SHARE", 0.1),
        new_topics_first=_bool(env, "LABELLOOP_NEW_TOPICS_FIRST", True),
        min_positives=_positive_int(env, "LABELLOOP_MIN_POSITIVES", 5),
        training_stale_seconds=_positive_int(env, "LABELLOOP_TRAINING_STALE_SECONDS", 600),
        overlap_share=_share(env, "LABELLOOP_OVERLAP_SHARE", 0.2),
        overlap_k=_positive_int(env, "LABELLOOP_OVERLAP_K", 2),
        lease_minutes=_positive_int(env, "LABELLOOP_LEASE_MINUTES", 10),
        retrain_every=_positive_int(env, "LABELLOOP_RETRAIN_EVERY", 25),
        label_errors=_bool(env, "LABELLOOP_LABEL_ERRORS", True),
        db_pool_size=_positive_int(env, "LABELLOOP_DB_POOL_SIZE", 10),
        db_max_overflow=_non_negative_int(env, "LABELLOOP_DB_MAX_OVERFLOW", 20),
        db_busy_timeout_ms=_positive_int(env, "LABELLOOP_DB_BUSY_TIMEOUT_MS", 30_000),
        db_write_retries=_non_negative_int(env, "LABELLOOP_DB_WRITE_RETRIES", 3),
        min_eval_support=_positive_int(env, "LABELLOOP_MIN_EVAL_SUPPORT", 10),
        promotion_rule=_choice(
            env, "LABELLOOP_PROMOTION_RULE", ("not_worse", "better", "always"), "not_worse"
        ),
        session_hours=_positive_int(env, "LABELLOOP_SESSION_HOURS", 24),
        session_idle_minutes=_positive_int(env, "LABELLOOP_SESSION_IDLE_MINUTES", 120),
    )
