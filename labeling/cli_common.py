"""What every command module of ``python -m labeling`` shares: the usage error (exit code 2),
opening the database, a printable database URL and progress on stderr.

Split out of ``cli`` with the command modules (``cli_models``, ``cli_tags``, ``cli_users``) so
that they need not import ``cli``, which imports them to build the parser: one direction of
imports, no cycle.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from db.session import EngineLimits, engine_for, session_factory, upgrade_to_head
from labeling.config import Settings


class UsageError(Exception):
    """Bad input on the command line (exit code 2)."""


def masked_url(url: str) -> str:
    """A database URL safe to print or log: its password replaced by ***."""
    return make_url(url).render_as_string(hide_password=True)


def progress(message: str) -> None:
    """Progress of long work goes to stderr so that stdout stays parseable."""
    print(message, file=sys.stderr, flush=True)


def open_database(settings: Settings) -> Callable[[], Session]:
    engine = engine_for(settings.database_url, EngineLimits.of(settings))
    upgrade_to_head(engine)
    return session_factory(engine)


def print_progress(stage: str, pct: float) -> None:
    """A training's progress callback (``training_jobs.work_once``)."""
    progress(f"[{pct:5.1f}%] {stage}")


def to_json(data: Any) -> str:
    """Indented JSON for ``--json`` output; dates and other non-JSON values as their text."""
    return json.dumps(data, indent=2, default=str)
