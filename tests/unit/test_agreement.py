"""Agreement metrics against values computed by hand on small tables, the degenerate cases, and
one pass through the database (latest judgements only)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from db.models import Annotation, Project, Resolution, Tag, User
from db.session import SessionFactory
from labeling.agreement import (
    NO_DATA,
    NOT_ENOUGH_DATA,
    OK,
    ONE_CLASS,
    SINGLE_RATER,
    AgreementReport,
    _column_kappas,
    agreement_from_judgements,
    compute_agreement,
    report_json,
    report_text,
    weakest_first,
)

X = frozenset({"x"})
NONE: frozenset[str] = frozenset()


def _by_tag(report: AgreementReport) -> dict[str, dict]:
    return {row["tag"]: row for row in report.per_tag}


def _pair(report: AgreementReport, a: str, b: str) -> dict:
    return next(p for p in report.pairs if (p["annotator_a"], p["annotator_b"]) == (a, b))


def _annotator(report: AgreementReport, name: str) -> dict:
    return next(row for row in report.annotators if row["annotator"] == name)


def two_rater_table() -> dict[int, dict[str, frozenset[str]]]:
    """Tag x on 10 projects, raters a and b:
    both present 3 (a=3), a only 1 (b=1), b only 1 (c=1), both absent 5 (d=5)."""
    cells = [(X, X)] * 3 + [(X, NONE)] + [(NONE, X)] + [(NONE, NONE)] * 5
    return {i: {"a": first, "b": second} for i, (first, second) in enumerate(cells)}


def test_two_raters_kappa_alpha_and_specific_agreement() -> None:
    report = agreement_from_judgements(two_rater_table(), {}, ["x"])
    # p_o = (3 + 5) / 10 = 0.8; p(a present) = p(b present) = 4/10;
    # p_e = 0.4·0.4 + 0.6·0.6 = 0.52; kappa = (0.8 - 0.52) / (1 - 0.52) = 0.28 / 0.48 = 7/12.
    pair = _pair(report, "a", "b")
    assert pair["kappa"] == pytest.approx(7 / 12)
    assert pair["observed_agreement"] == pytest.approx(0.8)
    assert (pair["shared_projects"], pair["decisions"], pair["status"]) == (10, 10, OK)
    tag = _by_tag(report)["x"]
    # Positive agreement 2a / (2a + b + c) = 6 / 8; negative 2d / (2d + b + c) = 10 / 12.
    assert tag["positive_agreement"] == pytest.approx(0.75)
    assert tag["negative_agreement"] == pytest.approx(10 / 12)
    # Krippendorff, nominal: coincidences o(1,1) = 2a = 6, o(0,0) = 2d = 10, o(0,1) = o(1,0)
    # = b + c = 2; n1 = 8, n0 = 12, n = 20. alpha = 1 - (n - 1)·(o01 + o10) / (2·n0·n1)
    # = 1 - 19·4 / 192 = 116 / 192 = 29/48.
    assert tag["alpha"] == pytest.approx(29 / 48)
    assert tag["kappa_mean"] == pytest.approx(7 / 12)
    assert (tag["projects"], tag["tagged_projects"], tag["disputed_projects"]) == (10, 5, 2)
    assert (tag["decisions"], tag["positives"], tag["status"], tag["note"]) == (20, 8, OK, "")
    assert tag["enough_data"] is True
    assert report.overall["alpha"] == pytest.approx(29 / 48)
    assert report.overall["kappa_mean"] == pytest.approx(7 / 12)
    assert report.disputed == [
        {"tag": "x", "disputed_projects": 2, "projects": 10, "share": 0.2, "enough_data": True}
    ]


def three_rater_table() -> dict[int, dict[str, frozenset[str]]]:
    """Tag x, raters a b c (c did not judge projects 5 and 6):
    1: a+ b+ c+   2: a- b- c-   3: a+ b+ c-   4: a+ b- c-   5: a+ b-   6: a- b-"""
    yes = {1: "abc", 2: "", 3: "ab", 4: "a", 5: "a", 6: ""}
    raters = {1: "abc", 2: "abc", 3: "abc", 4: "abc", 5: "ab", 6: "ab"}
    return {item: {name: X if name in yes[item] else NONE for name in raters[item]} for item in yes}


def test_three_raters_with_a_missing_judgement() -> None:
    report = agreement_from_judgements(
        three_rater_table(), {}, ["x"], min_items=6, min_shared=4, min_tagged=4
    )
    tag = _by_tag(report)["x"]
    # present/raters per item: 3/3, 0/3, 2/3, 1/3, 1/2, 0/2.
    # Coincidences, each pair weighted 1/(m-1): o11 = 3 (item 1) + 1 (item 3) = 4;
    # o00 = 3 (2) + 1 (4) + 2 (6) = 6; o01 = o10 = 1 (3) + 1 (4) + 1 (5) = 3.
    # n1 = 7, n0 = 9, n = 16; alpha = 1 - 15·6 / (2·9·7) = 1 - 90/126 = 2/7.
    assert tag["alpha"] == pytest.approx(2 / 7)
    # Positive: Σ p(p-1) / Σ p(n-1) = (6 + 2 + 0 + 0) / (6 + 4 + 2 + 1) = 8/13.
    assert tag["positive_agreement"] == pytest.approx(8 / 13)
    # Negative: Σ q(q-1) / Σ q(n-1) = (6 + 0 + 2 + 0 + 2) / (6 + 2 + 4 + 1 + 2) = 10/15.
    assert tag["negative_agreement"] == pytest.approx(10 / 15)
    # Observed: (8 + 10) / Σ n(n-1) = 18 / (4·6 + 2·2) = 18/28.
    assert tag["observed_agreement"] == pytest.approx(18 / 28)
    assert (tag["projects"], tag["disputed_projects"], tag["decisions"]) == (6, 3, 16)
    # Pairs: a/b on 6 items, a = + - + + + -, b = + - + - - -: p_o = 4/6, p_a = 4/6,
    # p_b = 2/6, p_e = 8/36 + 8/36 = 4/9, kappa = (2/3 - 4/9) / (5/9) = 0.4.
    # a/c on items 1-4, a = + - + +, c = + - - -: p_o = 1/2, p_e = 3/16 + 3/16, kappa = 0.2.
    # b/c on items 1-4, b = + - + -, c = + - - -: p_o = 3/4, p_e = 1/8 + 3/8, kappa = 0.5.
    kappas = {(p["annotator_a"], p["annotator_b"]): p["kappa"] for p in report.pairs}
    assert kappas == pytest.approx({("a", "b"): 0.4, ("a", "c"): 0.2, ("b", "c"): 0.5})
    assert tag["kappa_mean"] == pytest.approx((0.4 + 0.2 + 0.5) / 3)
    # With others, per (other, item): a agrees 2+2+1+0+0+1 of 2+2+2+2+1+1 = 6/10;
    # b 2+2+1+1+0+1 of 10 = 7/10; c 2+2+0+1 of 8 = 5/8. Mean pair kappas: a (0.4 + 0.2) / 2,
    # b (0.4 + 0.5) / 2, c (0.2 + 0.5) / 2.
    expected = {"a": (0.6, 10, 0.3), "b": (0.7, 10, 0.45), "c": (0.625, 8, 0.35)}
    for name, (share, comparisons, kappa_mean) in expected.items():
        row = _annotator(report, name)
        assert row["agreement_with_others"] == pytest.approx(share)
        assert row["comparisons"] == comparisons
        assert row["kappa_mean"] == pytest.approx(kappa_mean)
        assert row["kappa_pairs"] == 2


def test_pairs_below_the_shared_minimum_are_kept_but_not_averaged() -> None:
    report = agreement_from_judgements(
        three_rater_table(), {}, ["x"], min_items=6, min_shared=5, min_tagged=4
    )
    pair = _pair(report, "a", "c")
    assert pair["kappa"] == pytest.approx(0.2)
    assert (pair["enough_data"], pair["status"]) == (False, NOT_ENOUGH_DATA)
    assert pair["note"] == "not enough data (n=4 shared projects)"
    assert _annotator(report, "a")["kappa_mean"] == pytest.approx(0.4)
    c = _annotator(report, "c")
    assert (c["kappa_mean"], c["kappa_pairs"], c["status"]) == (None, 0, NOT_ENOUGH_DATA)
    assert _by_tag(report)["x"]["kappa_pairs"] == 1
    assert report.overall["kappa_pairs"] == 1


def test_one_class_only_reports_undefined_with_raw_agreement() -> None:
    judgements = {i: {"a": NONE, "b": NONE} for i in range(10)}
    report = agreement_from_judgements(judgements, {}, ["x"])
    tag = _by_tag(report)["x"]
    assert (tag["alpha"], tag["kappa_mean"], tag["kappa_pairs"]) == (None, None, 0)
    assert (tag["status"], tag["note"]) == (ONE_CLASS, "one class only: kappa/alpha undefined")
    assert tag["observed_agreement"] == 1.0
    assert tag["negative_agreement"] == 1.0
    assert tag["positive_agreement"] is None
    pair = _pair(report, "a", "b")
    assert (pair["kappa"], pair["observed_agreement"], pair["status"]) == (None, 1.0, ONE_CLASS)
    assert report.overall["status"] == ONE_CLASS
    assert report.disputed == []
    assert "undefined (one class only)" in report_text(report)


def test_perfect_agreement_with_both_classes_is_one() -> None:
    judgements = {i: {"a": X if i < 5 else NONE, "b": X if i < 5 else NONE} for i in range(10)}
    report = agreement_from_judgements(judgements, {}, ["x"])
    tag = _by_tag(report)["x"]
    assert (tag["alpha"], tag["positive_agreement"], tag["negative_agreement"]) == (1.0, 1.0, 1.0)
    assert (tag["kappa_mean"], tag["disputed_projects"], tag["status"]) == (1.0, 0, OK)
    assert _pair(report, "a", "b")["kappa"] == 1.0
    assert _annotator(report, "a")["agreement_with_others"] == 1.0
    assert report.overall["disputed_projects"] == 0


def test_single_rater_has_nobody_to_agree_with() -> None:
    judgements = {i: {"solo": X} for i in range(12)}
    report = agreement_from_judgements(judgements, {}, ["x"])
    assert report.overall["status"] == SINGLE_RATER
    assert report.overall["projects"] == 0
    assert report.overall["enough_data"] is False
    assert report.pairs == []
    assert _by_tag(report)["x"]["status"] == NO_DATA
    solo = _annotator(report, "solo")
    assert (solo["projects"], solo["shared_projects"], solo["status"]) == (12, 0, NO_DATA)
    assert solo["agreement_with_others"] is None
    assert report_text(report).splitlines()[-1] == (
        "Overall: single rater: nobody to agree with yet."
    )


def test_empty_input() -> None:
    report = agreement_from_judgements({}, {}, [])
    assert (report.overall["status"], report.per_tag, report.pairs) == (SINGLE_RATER, [], [])
    assert json.dumps(report_json(report), allow_nan=False)


def test_minimum_number_of_projects() -> None:
    table = two_rater_table()
    del table[9]  # one "both absent" project fewer: 9 projects
    report = agreement_from_judgements(table, {}, ["x"])
    tag = _by_tag(report)["x"]
    assert (tag["enough_data"], tag["status"]) == (False, NOT_ENOUGH_DATA)
    assert tag["note"] == "not enough data (n=9 projects)"
    assert tag["alpha"] is not None  # given, but flagged
    assert report.overall["status"] == NOT_ENOUGH_DATA
    assert _pair(report, "a", "b")["note"] == "not enough data (n=9 shared projects)"
    text = report_text(report)
    assert "Overall: not enough data (n=9 projects)." in text
    assert agreement_from_judgements(table, {}, ["x"], min_items=9).overall["status"] == OK


def test_minimum_number_of_tagged_projects() -> None:
    # x is applied on 5 projects (3 both, 1 a only, 1 b only); drop one "a only" -> 4.
    table = two_rater_table()
    table[3] = {"a": NONE, "b": NONE}
    tag = _by_tag(agreement_from_judgements(table, {}, ["x"]))["x"]
    assert (tag["tagged_projects"], tag["status"]) == (4, NOT_ENOUGH_DATA)
    assert tag["note"] == "not enough data (n=4 tagged projects)"
    assert tag["enough_data"] is False
    lenient = _by_tag(agreement_from_judgements(table, {}, ["x"], min_tagged=4))["x"]
    assert lenient["status"] == OK


def test_inactive_tags_are_ignored() -> None:
    judgements = {
        i: {"a": X | {"retired"}, "b": X if i % 2 else NONE | {"retired"}} for i in range(10)
    }
    report = agreement_from_judgements(judgements, {}, ["x"])
    assert [row["tag"] for row in report.per_tag] == ["x"]
    assert report.overall["decisions"] == 20


def test_agreement_with_resolutions() -> None:
    y = frozenset({"y"})
    judgements = {
        1: {"a": X, "b": y},  # resolved as {x, y}
        2: {"a": X | y},  # resolved as {x}; a single judgement still counts against a resolution
        3: {"a": X, "b": X},  # no resolution: not compared
        4: {"b": y},  # resolved, but a did not judge it
    }
    resolutions = {1: X | y, 2: X, 4: NONE}
    report = agreement_from_judgements(judgements, resolutions, ["x", "y"], min_shared=2)
    a = _annotator(report, "a")
    # a vs resolution on (project, tag): (1,x) 1=1, (1,y) 0≠1, (2,x) 1=1, (2,y) 1≠0 -> 2/4.
    # kappa: a = [1,0,1,1], resolution = [1,1,1,0]; p_o = 1/2, p_a = p_r = 3/4,
    # p_e = 9/16 + 1/16 = 10/16; kappa = (8/16 - 10/16) / (6/16) = -1/3.
    assert (a["resolved_projects"], a["resolution_decisions"]) == (2, 4)
    assert a["resolution_agreement"] == pytest.approx(0.5)
    assert a["resolution_kappa"] == pytest.approx(-1 / 3)
    assert (a["resolution_enough_data"], a["resolution_status"]) == (True, OK)
    assert a["projects"] == 3
    b = _annotator(report, "b")
    # b vs resolution: (1,x) 0≠1, (1,y) 1=1, (4,x) 0=0, (4,y) 1≠0 -> 2/4;
    # b = [0,1,0,1], resolution = [1,1,0,0]: p_o = 1/2, p_e = 1/4 + 1/4, kappa = 0.
    assert b["resolution_agreement"] == pytest.approx(0.5)
    assert b["resolution_kappa"] == pytest.approx(0.0)
    strict = agreement_from_judgements(judgements, resolutions, ["x", "y"], min_shared=3)
    a_strict = _annotator(strict, "a")
    assert a_strict["resolution_status"] == NOT_ENOUGH_DATA
    assert a_strict["resolution_note"] == "not enough data (n=2 resolved projects)"


def test_column_kappas_equal_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    first = (rng.random((40, 6)) < 0.3).astype(np.int8)
    second = np.where(rng.random((40, 6)) < 0.2, 1 - first, first).astype(np.int8)
    first[:, 5] = second[:, 5] = 0  # one class only in the last column
    kappas = _column_kappas(first, second)
    for k in range(5):
        assert kappas[k] == pytest.approx(cohen_kappa_score(first[:, k], second[:, k]))
    assert kappas[5] is None


def test_weakest_first_puts_untrusted_tags_last() -> None:
    rows = [
        {"tag": "b", "alpha": 0.9, "status": OK},
        {"tag": "c", "alpha": None, "status": ONE_CLASS},
        {"tag": "a", "alpha": 0.1, "status": NOT_ENOUGH_DATA},
        {"tag": "d", "alpha": 0.2, "status": OK},
    ]
    assert [row["tag"] for row in weakest_first(rows)] == ["d", "b", "a", "c"]


def test_report_json_is_json_safe() -> None:
    report = agreement_from_judgements(three_rater_table(), {}, ["x"], min_items=1)
    data = report_json(report)
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["min_items"] == 1
    odd = AgreementReport(
        overall={"alpha": math.nan, "n": np.int64(3)},
        per_tag=[],
        pairs=[],
        annotators=[],
        disputed=[],
    )
    assert report_json(odd)["overall"] == {"alpha": None, "n": 3}


def test_report_text_sections() -> None:
    report = agreement_from_judgements(
        three_rater_table(), {}, ["x", "z"], min_items=6, min_shared=5, min_tagged=4
    )
    text = report_text(report)
    assert text.startswith("Agreement: 3 annotators, 6 projects judged by at least two of them")
    # Pooled over x and z: z adds 6 all-absent units, o00 += 4·3 + 2·2 = 16, so o00 = 22,
    # n0 = 25, n1 = 7, n = 32; alpha = 1 - 31·6 / (2·25·7) = 164/350 = 0.469.
    assert "Krippendorff's alpha 0.469" in text
    # a/c over x and z: agree on 2 of 4 x decisions and 4 of 4 z decisions -> 6/8.
    assert "  a / c: 4 shared projects, observed 0.750, kappa not enough data (n=4 shared " in text
    # a/b over 12 decisions: p_o = (4 + 6)/12, p_a = 4/12, p_b = 2/12,
    # p_e = 8/144 + 80/144 = 88/144, kappa = (120 - 88) / (144 - 88) = 32/56 = 0.571.
    assert "  a / b: 6 shared projects, observed 0.833, kappa 0.571" in text
    assert "one class only: kappa/alpha undefined" in text  # tag z: nobody applied it
    assert "  x: 3 of 6 projects (50.0%)" in text
    lines = text.splitlines()
    per_tag = lines.index("Per tag (weakest alpha first):")
    assert lines[per_tag + 2].split()[0] == "x"  # trusted before the undefined z
    assert lines[per_tag + 3].split()[0] == "z"


def test_compute_agreement_reads_latest_judgements_only(make_session: SessionFactory) -> None:
    with make_session.begin() as session:
        users = {
            name: User(username=name, password_hash="x", role="annotator")
            for name in ("alice", "bob", "carol", "rita")
        }
        session.add_all(users.values())
        session.add_all(
            [Tag(name="x"), Tag(name="y"), Tag(name="w"), Tag(name="old", active=False)]
        )
        projects = [Project(external_id=f"p{i}", title=f"P{i}", split="train") for i in (1, 2)]
        session.add_all(projects)
        session.flush()
        p1, p2 = projects[0].id, projects[1].id
        ids = {name: user.id for name, user in users.items()}
        for project_id, user, tags, skipped in [
            (p1, "alice", ["x"], False),  # superseded by alice's next judgement
            (p1, "alice", ["x", "y"], False),
            (p1, "bob", ["x", "y", "old"], False),  # "old" is inactive: ignored
            (p1, "carol", ["w"], False),  # withdrawn by carol's skip
            (p1, "carol", [], True),
            (p2, "alice", ["x"], False),
            (p2, "bob", [], True),  # a skip alone is no judgement
        ]:
            session.add(
                Annotation(project_id=project_id, user_id=ids[user], tags=tags, skipped=skipped)
            )
            session.flush()
        session.add(Resolution(project_id=p1, reviewer_id=ids["rita"], tags=["x"]))
    with make_session() as session:
        report = compute_agreement(session, min_items=1, min_shared=1, min_tagged=1)
    assert report.overall["annotators"] == 2  # carol's only judgement is withdrawn
    assert (report.overall["projects"], report.overall["tags"]) == (1, 3)
    assert [row["tag"] for row in report.per_tag] == ["w", "x", "y"]
    # On p1 alice {x, y} and bob {x, y} agree on every active tag: w absent, x and y present.
    assert report.overall["observed_agreement"] == 1.0
    assert report.disputed == []
    pair = _pair(report, "alice", "bob")
    assert (pair["shared_projects"], pair["decisions"], pair["kappa"]) == (1, 3, 1.0)
    alice = _annotator(report, "alice")
    assert (alice["projects"], alice["shared_projects"], alice["resolved_projects"]) == (2, 1, 1)
    # alice {x, y} vs resolution {x} over w, x, y: agree, agree, differ.
    assert alice["resolution_agreement"] == pytest.approx(2 / 3)
    assert [row["annotator"] for row in report.annotators] == ["alice", "bob"]


def test_report_text_lists_ten_disputed_tags_then_counts_the_rest() -> None:
    tags = [f"t{k:02}" for k in range(12)]
    # Project k: a applies t_k, b does not -> each tag disputed on exactly 1 of 12 projects.
    judgements = {k: {"a": frozenset({tags[k]}), "b": NONE} for k in range(12)}
    lines = report_text(agreement_from_judgements(judgements, {}, tags)).splitlines()
    start = lines.index("Most disputed tags (projects where annotators differ on the tag):")
    assert lines[start + 1] == "  t00: 1 of 12 projects (8.3%)"
    assert lines[start + 11] == "  ... and 2 more tags disputed at least once"


def test_compute_agreement_on_an_empty_database(make_session: SessionFactory) -> None:
    with make_session() as session:
        report = compute_agreement(session)
    assert (report.overall["status"], report.per_tag, report.annotators) == (SINGLE_RATER, [], [])
