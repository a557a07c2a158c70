"""``python -m labeling tags``: listing, actions, exact errors (exit 2), history and undo."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from db.session import SessionFactory
from labeling.cli import main
from labeling.config import Settings


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.fixture
def imported(cli_env: Settings, tmp_path: Path) -> None:
    projects = tmp_path / "p.json"
    projects.write_text(
        json.dumps(
            [
                {"id": 1, "title": "a", "tags": ["yolov4"]},
                {"id": 2, "title": "b", "tags": ["yolo-v4"]},
            ]
        )
    )
    taxonomy = tmp_path / "t.json"
    taxonomy.write_text(json.dumps({"yolov4": {"aliases": ["yolo4"]}}))
    code, _ = run(
        "import", "--projects", str(projects), "--taxonomy", str(taxonomy),
        "--unknown-tags", "candidate",
    )  # fmt: skip
    assert code == 0


def test_list_merge_history_and_undo(imported: None, make_session: SessionFactory) -> None:
    code, out = run("tags", "list", "--json")
    assert code == 0
    assert [(t["name"], t["kind"], t["source"]) for t in json.loads(out)] == [
        ("yolo-v4", "candidate", 1),
        ("yolov4", "tag", 1),
    ]
    assert run("tags", "merge", "yolo-v4", "yolov4") == (
        0,
        "merged yolo-v4 into yolov4; a retrain is queued\n",
    )
    code, out = run("tags", "list", "--search", "yolo")
    assert out.splitlines()[0] == "1 tags, 0 candidates"
    assert out.splitlines()[2].split() == [
        "yolov4",
        "tag",
        "yes",
        "2",
        "2",
        "0",
        "yolo-v4,",
        "yolo4",
        "/",
        "-",
    ]
    code, out = run("tags", "history", "yolov4", "--json")
    events = json.loads(out)
    assert [e["summary"] for e in events] == ["merged yolo-v4 into yolov4 (1 projects)"]
    assert run("tags", "undo", str(events[0]["id"])) == (
        0,
        "undid: merged yolo-v4 into yolov4 (1 projects)\n",
    )
    _, out = run("tags", "list", "--kind", "candidate", "--json")
    assert [(t["name"], t["source"]) for t in json.loads(out)] == [("yolo-v4", 1)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("merge", "yolov4", "yolov4"), "cannot merge 'yolov4' into itself"),
        (
            ("merge", "yolov4", "yolo-v4"),
            "cannot merge into 'yolo-v4': it is a candidate tag; promote it first",
        ),
        (
            ("parent-set", "yolov4", "yolov4"),
            "'yolov4' cannot be a parent of 'yolov4': yolov4 -> yolov4",
        ),
        (
            ("alias-add", "yolov4", "yolo-v4"),
            "'yolo-v4' is the name of another tag; merge 'yolo-v4' into 'yolov4' instead",
        ),
    ],
)
def test_refused_action_exits_2_with_the_reason(
    imported: None, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    capsys.readouterr()
    assert run("tags", *argv) == (2, "")
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"error: {message}"
