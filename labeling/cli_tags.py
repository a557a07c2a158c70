"""``python -m labeling tags ...``: list, history, undo and the tag actions (rename, merge, ...).

Split out of ``cli`` (the project rule: a module past ~600 lines is split by subject).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any, TextIO

from labeling import implied_parents, tag_history, tag_overview, tags, tags_text
from labeling.cli_common import open_database
from labeling.config import Settings


def cmd_tags(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    make_session = open_database(settings)
    action = args.tags_command
    if action == "list":
        with make_session() as session:
            rows = tag_overview.filter_overview(
                tag_overview.tag_overview(session, settings.trust_source_tags),
                args.search,
                args.kind,
            )
        _write(out, args.json, [row.to_dict() for row in rows], tags_text.overview_text(rows))
    elif action == "history":
        with make_session() as session:
            events = tag_history.tag_history(session, args.name)
        data = [{**asdict(event), "at": event.at.isoformat()} for event in events]
        _write(out, args.json, data, tags_text.history_text(events))
    elif action == "implied-parents":
        _implied_parents(make_session, args, out)
    elif action == "undo":
        with make_session.begin() as session:
            out.write(tag_history.undo(session, None, args.event) + "\n")
    else:
        names = [getattr(args, slot.lower()) for slot in tags.ACTIONS[action].arguments]
        with make_session.begin() as session:
            out.write(tags.run_action(session, None, action, *names) + "\n")
    return 0


def _implied_parents(make_session: Any, args: argparse.Namespace, out: TextIO) -> None:
    """Lists what is missing; with --apply adds it (one transaction, one event). Parents
    implied only by a tag the model doubts are listed apart and never added."""
    if args.apply:
        with make_session.begin() as session:
            missing = implied_parents.add_implied_parents(session, None)["added"]
    with make_session() as session:
        found = implied_parents.implied_parents(session)
    if not args.apply:
        missing = found.missing
    data = {
        "applied": args.apply,
        "missing": {name: len(ids) for name, ids in missing.items()},
        "doubted": {name: len(ids) for name, ids in found.doubted.items()},
    }
    _write(out, args.json, data, tags_text.implied_parents_text(missing, found.doubted, args.apply))


def _write(out: TextIO, as_json: bool, data: Any, text_: str) -> None:
    if as_json:
        json.dump(data, out, indent=2)
        out.write("\n")
    else:
        out.write(text_)
