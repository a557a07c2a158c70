"""Time sign-in for an existing username and for an unknown one, to check that timing does
not tell which usernames exist (unknown names are verified against a dummy hash). Each
attempt uses a wrong password, the way someone probing for usernames would; the failure limit
is raised so that no name gets locked during the run. Prints medians as JSON.

Usage: python -m benchmarks.sign_in_timing [--calls N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from db.session import SessionFactory, new_engine, session_factory, upgrade_to_head
from labeling import auth
from labeling.config import Settings


def _timed_attempts(
    make_session: SessionFactory, settings: Settings, username: str, calls: int
) -> list[float]:
    seconds = []
    for _ in range(calls):
        started = time.perf_counter()
        with make_session.begin() as session:
            outcome = auth.sign_in(session, username, "not-the-password", settings)
        seconds.append(time.perf_counter() - started)
        assert outcome.user is None and outcome.error == auth.WRONG_CREDENTIALS, outcome
    return seconds


def measure(calls: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{Path(workdir) / 'bench.db'}"
        settings = Settings(url, Path(workdir), max_sign_in_failures=10 * calls + 10)
        engine = new_engine(url)
        upgrade_to_head(engine)
        make_session = session_factory(engine)
        with make_session.begin() as session:
            auth.create_user(session, "alice", "correct-horse-1", "annotator")
        _timed_attempts(make_session, settings, "warm-up", 2)
        # Interleaved so that a change in machine load hits both sides alike.
        known: list[float] = []
        unknown: list[float] = []
        for _ in range(calls):
            known += _timed_attempts(make_session, settings, "alice", 1)
            unknown += _timed_attempts(make_session, settings, "nobody-here", 1)
        engine.dispose()
    known_ms = statistics.median(known) * 1000
    unknown_ms = statistics.median(unknown) * 1000
    return {
        "calls_each": calls,
        "existing_user_median_ms": round(known_ms, 1),
        "unknown_user_median_ms": round(unknown_ms, 1),
        "unknown_over_existing": round(unknown_ms / known_ms, 3),
        "within_20_percent": abs(unknown_ms - known_ms) <= 0.2 * known_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    print(json.dumps(measure(args.calls), indent=2))


if __name__ == "__main__":
    main()
