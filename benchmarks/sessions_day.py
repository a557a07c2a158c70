"""What the ``user_sessions`` table holds after a day of use, and after eight more: a team of
20 simulated against the real session functions (``labeling.sessions.start``, ``peek``,
``resume``, ``sign_out``; ``labeling.auth.deactivate``) with a simulated clock, on SQLite.

Each working day, every active member arrives between 08:00 and 09:30 and works until 17:00 to
18:30, a page run every 2 to 6 minutes (a quarter of them reloads or new tabs, which present
the same cookie, as the app does); lunch lasts 30 to 90 minutes, or 130 to 180 for one in five
members, longer than the 120-minute idle timeout. One member in five also signs in from a
second browser in the evening. Half sign out when they leave; the others close the browser,
and their cookie is presented again the next morning. On day 1 at 14:00 an admin deactivates
one member. A page run works like ``ui.app.signed_in_user``: ``peek``, then ``resume`` in a
write transaction when it has something to write; a refused token sends the member to the
sign-in form, which starts a new session.

Prints, as JSON, the rows by state (as the Users page shows them, and as stored) at the end
of every day, with what happened that day.

Usage: python -m benchmarks.sessions_day [--team N] [--days D] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from db.models import User, UserSession
from db.session import SessionFactory, new_engine, session_factory, upgrade_to_head
from labeling import auth, sessions
from labeling.config import Settings

DAY_ONE = datetime(2026, 12, 1)
DEACTIVATED_AT = timedelta(hours=14)


@dataclass(order=True)
class Step:
    """One thing a member does at a moment: "run" (a page run, reload or new tab),
    "sign_out", or "deactivate" (an admin deactivates the member)."""

    at: datetime
    member: int
    kind: str = field(compare=False)
    device: str = field(compare=False, default="desk")


def minutes(value: float) -> timedelta:
    return timedelta(minutes=float(value))


def day_steps(rng: np.random.Generator, day: datetime, member: int) -> list[Step]:
    """One member's working day, as described in the module docstring."""
    arrive = day + timedelta(hours=8) + minutes(rng.uniform(0, 90))
    leave = day + timedelta(hours=17) + minutes(rng.uniform(0, 90))
    lunch = day + timedelta(hours=12) + minutes(rng.uniform(0, 60))
    long_lunch = rng.random() < 0.2
    back = lunch + minutes(rng.uniform(130, 180) if long_lunch else rng.uniform(30, 90))
    steps = []
    now = arrive
    while now < leave:
        if not lunch <= now < back:
            steps.append(Step(now, member, "run"))
        now += minutes(rng.uniform(2, 6))
    if rng.random() < 0.5:
        steps.append(Step(leave, member, "sign_out"))
    if rng.random() < 0.2:
        evening = day + timedelta(hours=20) + minutes(rng.uniform(0, 30))
        steps += [Step(evening + minutes(4 * k), member, "run", "laptop") for k in range(6)]
        if rng.random() < 0.5:
            steps.append(Step(evening + minutes(25), member, "sign_out", "laptop"))
    return steps


class Team:
    """The members' cookies (one per browser) and what happened to them."""

    def __init__(self, make_session: SessionFactory, settings: Settings, size: int) -> None:
        self.make_session = make_session
        self.settings = settings
        with make_session.begin() as session:
            users = [
                User(username=f"member{k:02d}", password_hash="x", role="annotator")
                for k in range(size)
            ]
            session.add_all(users)
            session.flush()
            self.user_ids = [user.id for user in users]
        self.cookies: dict[tuple[int, str], str] = {}
        self.active = set(range(size))
        self.counts: Counter[str] = Counter()

    def page_run(self, step: Step) -> None:
        """``ui.app.signed_in_user`` with the step's time, then a sign-in when refused."""
        token = self.cookies.get((step.member, step.device))
        self.counts["page runs"] += 1
        if token is not None:
            with self.make_session() as session:
                resumed = sessions.peek(session, token, self.settings, step.at)
            if resumed.pending:
                self.counts["page runs that wrote"] += 1
                with self.make_session.begin() as session:
                    resumed = sessions.resume(session, token, self.settings, step.at)
            if resumed.user is not None:
                return
            self.counts[f"refused ({resumed.refusal})"] += 1
            del self.cookies[(step.member, step.device)]
        if step.member not in self.active:
            return
        with self.make_session.begin() as session:
            user = session.get(User, self.user_ids[step.member])
            assert user is not None
            self.cookies[(step.member, step.device)] = sessions.start(
                session, user, self.settings, step.at
            )
        self.counts["sign-ins"] += 1

    def sign_out(self, step: Step) -> None:
        token = self.cookies.pop((step.member, step.device), None)
        if token is None:
            return
        with self.make_session.begin() as session:
            user = session.get(User, self.user_ids[step.member])
            if sessions.sign_out(session, token, user, step.at):
                self.counts["sign-outs"] += 1

    def deactivate(self, step: Step) -> None:
        with self.make_session.begin() as session:
            auth.deactivate(session, f"member{step.member:02d}")
        self.active.discard(step.member)
        self.counts["deactivations"] += 1

    def table(self, now: datetime) -> dict[str, Any]:
        """The rows by the state the Users page shows at ``now``, and by what the table itself
        says: a session nobody presents again is never ended in the table (the Users page
        derives "idle" or "expired" from its times) until it is deleted."""
        with self.make_session() as session:
            listed = sessions.list_sessions(session, self.settings, now=now)
            stored = Counter(
                reason or "not ended in the table"
                for reason in session.scalars(select(UserSession.revoked_reason))
            )
        return {
            "rows": stored.total(),
            "by_state": dict(sorted(Counter(v.state for v in listed).items())),
            "by_stored_reason": dict(sorted(stored.items())),
        }


def simulate(team_size: int, days: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as workdir:
        settings = Settings(
            database_url=f"sqlite:///{Path(workdir) / 'day.db'}", data_dir=Path(workdir)
        )
        engine = new_engine(settings.database_url)
        upgrade_to_head(engine)
        team = Team(session_factory(engine), settings, team_size)
        leaving = int(rng.integers(team_size))
        per_day = []
        for day_number in range(1, days + 1):
            day = DAY_ONE + timedelta(days=day_number - 1)
            steps = [s for m in sorted(team.active) for s in day_steps(rng, day, m)]
            if day_number == 1:
                steps.append(Step(day + DEACTIVATED_AT, leaving, "deactivate"))
            before = Counter(team.counts)
            for step in sorted(steps):
                if step.kind == "deactivate":
                    team.deactivate(step)
                elif step.kind == "sign_out":
                    team.sign_out(step)
                elif step.member in team.active:
                    team.page_run(step)
            end = day + timedelta(hours=23, minutes=59)
            per_day.append(
                {
                    "day": day_number,
                    "at": end.isoformat(sep=" "),
                    **team.table(end),
                    "that_day": dict(sorted((team.counts - before).items())),
                }
            )
        engine.dispose()
    return {
        "settings": {
            "session_hours": settings.session_hours,
            "idle_minutes": settings.session_idle_minutes,
            "retention_days": sessions.RETENTION.days,
        },
        "per_day": per_day,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--team", type=int, default=20)
    parser.add_argument("--days", type=int, default=9, help="day 1 and 8 more")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    json.dump(
        {
            "benchmark": "sessions_day",
            "team": args.team,
            **simulate(args.team, args.days, args.seed),
        },
        sys.stdout,
        indent=2,
    )
    print()


if __name__ == "__main__":
    main()
