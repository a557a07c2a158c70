"""Project search on SQLite (FTS5) and PostgreSQL (tsvector): ranking, every filter, sort and
paging against a five-project catalogue whose answers are worked out by hand below."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select

from db.models import (
    Annotation,
    ImportBatch,
    ModelVersion,
    Prediction,
    Project,
    Resolution,
    SourceTag,
    Tag,
    User,
)
from db.session import SessionFactory
from labeling.judgements import submit
from labeling.project_state import rebuild_project_states, store_predicted_tags
from labeling.search import (
    ProjectQuery,
    SearchError,
    search_projects,
    search_words,
)

T0 = datetime(2026, 1, 1, 12, 0)

# id: (title, description, source tags, split, in batch 1)
CATALOGUE = {
    1: (
        "Transformer models for text",
        "We fine-tune BERT transformers on product reviews.",
        ["nlp", "transformers"],
        "train",
        True,
    ),
    2: (
        "Image classification with CNNs",
        "A convolutional network classifies photos of animals into forty kinds; it is a "
        "strong baseline that beats transformers on small data.",
        ["computer-vision"],
        "train",
        True,
    ),
    3: ("Object detection", "YOLO finds objects in images.", ["computer-vision"], "eval", False),
    4: ("Speech recognition", "Audio to text with a transformer.", [], "train", False),
    5: ("Graph networks", "Node classification on citation graphs.", ["graphs"], "eval", False),
}
TAGS = ["computer-vision", "graphs", "nlp", "object-detection", "transformers"]


@pytest.fixture
def catalogue(make_session: SessionFactory) -> dict[str, int]:
    return build_catalogue(make_session)


def build_catalogue(make_session: SessionFactory) -> dict[str, int]:
    """The five projects; alice and bob disagree on 1 (conflict), alice alone judged 3
    (single), a reviewer resolved 5 without judgements (resolved); 2 and 4 are unlabeled.
    Model version 1 predicts nlp for 1 and 4 and transformers for 4, and suspects 4 and 1."""
    with make_session.begin() as session:
        tags = {name: Tag(name=name) for name in TAGS}
        session.add_all(tags.values())
        users = {
            name: User(username=name, password_hash="x", role=role)
            for name, role in [("alice", "annotator"), ("bob", "annotator"), ("rita", "reviewer")]
        }
        session.add_all(users.values())
        batch = ImportBatch(filename="first.json", file_format="json")
        session.add(batch)
        session.flush()
        for project_id, (title, description, source, split, in_batch) in CATALOGUE.items():
            session.add(
                Project(
                    id=project_id,
                    external_id=f"p{project_id}",
                    title=title,
                    description=description,
                    split=split,
                    imported_in_id=batch.id if in_batch else None,
                    created_at=T0,
                )
            )
            session.flush()
            session.add_all(SourceTag(project_id=project_id, tag_id=tags[t].id) for t in source)
        judgements = [
            ("alice", 1, ["nlp", "transformers"]),
            ("bob", 1, ["nlp"]),
            ("alice", 3, ["computer-vision", "object-detection"]),
        ]
        for minute, (name, project_id, chosen) in enumerate(judgements):
            session.add(
                Annotation(
                    project_id=project_id,
                    user_id=users[name].id,
                    tags=chosen,
                    created_at=T0 + timedelta(minutes=minute),
                )
            )
        # A skip withdraws nothing bob never gave, and leaves 2 unlabeled.
        session.add(Annotation(project_id=2, user_id=users["bob"].id, tags=[], skipped=True))
        session.add(Resolution(project_id=5, reviewer_id=users["rita"].id, tags=["graphs", "nlp"]))
        version = ModelVersion(status="ready", thresholds={"nlp": 0.5, "transformers": 0.4})
        session.add(version)
        session.flush()
        predictions = [
            (1, {"nlp": 0.9, "transformers": 0.3}, 0.3),
            (2, {"nlp": 0.2, "transformers": 0.1}, 0.0),
            (3, {"nlp": 0.1, "transformers": 0.1}, None),
            (4, {"nlp": 0.7, "transformers": 0.45}, 0.8),
            (5, {"nlp": 0.4, "transformers": 0.0}, 0.0),
        ]
        for project_id, probabilities, score in predictions:
            session.add(
                Prediction(
                    model_version_id=version.id,
                    project_id=project_id,
                    probabilities=probabilities,
                    uncertainty=0.5,
                    label_error_score=score,
                )
            )
        # Rows written directly, as a migrated database holds them: their stored states and
        # predicted tags are derived once, as migration 0012's backfill does.
        session.flush()
        rebuild_project_states(session)
        store_predicted_tags(
            session,
            version.id,
            [
                {"project_id": p, "probabilities": probabilities}
                for p, probabilities, _ in predictions
            ],
            version.thresholds,
        )
        return {"batch": batch.id, **{name: user.id for name, user in users.items()}}


def found(make_session: SessionFactory, trust: bool = True, **criteria: object) -> list[int]:
    with make_session() as session:
        page = search_projects(session, ProjectQuery(**criteria), trust)
    return [row.id for row in page.rows]


def test_search_words_drop_operators_and_punctuation() -> None:
    assert search_words('title:"BERT" OR (nlp*) -x') == ["title", "bert", "or", "nlp", "x"]
    assert search_words("***") == []


def test_a_title_match_ranks_above_description_matches(
    make_session: SessionFactory, catalogue: dict[str, int]
) -> None:
    """1 has the word in its title; 4 and 2 only in their descriptions (stemmed:
    "transformers" matches "transformer")."""
    ranked = found(make_session, text="transformer")
    assert ranked[0] == 1
    assert sorted(ranked[1:]) == [2, 4]


def test_every_word_is_required(make_session: SessionFactory, catalogue: dict[str, int]) -> None:
    assert found(make_session, text="transformer audio") == [4]
    assert found(make_session, text="classification") == [2, 5]  # 2: in its title
    assert found(make_session, text="classification graphs") == [5]
    assert found(make_session, text="quantum") == []


def test_operator_text_is_searched_as_plain_words(
    make_session: SessionFactory, catalogue: dict[str, int]
) -> None:
    assert found(make_session, text='"yolo') == [3]
    assert found(make_session, text="title:yolo") == []
    assert found(make_session, text="*** ()") == [5, 4, 3, 2, 1]


def test_source_tag_filter(make_session: SessionFactory, catalogue: dict[str, int]) -> None:
    assert found(make_session, tag="computer-vision", tag_in="source") == [3, 2]
    assert found(make_session, tag="object-detection", tag_in="source") == []


def test_effective_tag_filter_follows_the_label_precedence(
    make_session: SessionFactory, catalogue: dict[str, int]
) -> None:
    """nlp: 1 is in conflict, so its source tags stand; 5's resolution adds it.
    computer-vision: 2 keeps its source tags, 3's single judgement keeps it too."""
    assert found(make_session, tag="nlp", tag_in="effective") == [5, 1]
    assert found(make_session, tag="object-detection", tag_in="effective") == [3]
    assert found(make_session, tag="computer-vision", tag_in="effective") == [3, 2]
    assert found(make_session, trust=False, tag="nlp", tag_in="effective") == [5]
    assert found(make_session, trust=False, tag="computer-vision", tag_in="effective") == [3]


def test_predicted_tag_filter_uses_each_tags_threshold(
    make_session: SessionFactory, catalogue: dict[str, int]
) -> None:
    assert found(make_session, tag="nlp", tag_in="predicted") == [4, 1]
    assert found(make_session, tag="transformers", tag_in="predicted") == [4]
    assert found(make_session, tag="graphs", tag_in="predicted") == []


def test_status_filter(make_session: SessionFactory, catalogue: dict[str, int]) -> None:
    assert found(make_session, status="conflict") == [1]
    assert found(make_session, status="single") == [3]
    assert found(make_session, status="resolved") == [5]
    assert found(make_session, status="unlabeled") == [4, 2]
    assert found(make_session, status="agreed") == []


def test_suspected_split_batch_and_annotator_filters(
    make_session: SessionFactory, catalogue: dict[str, int]
) -> None:
    assert found(make_session, suspected=True) == [4, 1]
    assert found(make_session, split="eval") == [5, 3]
    assert found(make_session, batch_id=catalogue["batch"]) == [2, 1]
    assert found(make_session, annotator_id=catalogue["bob"]) == [1]
    assert found(make_session, annotator_id=catalogue["alice"]) == [3, 1]


def test_search_plus_filters(make_session: SessionFactory, catalogue: dict[str, int]) -> None:
    assert sorted(found(make_session, text="transformers", status="unlabeled")) == [2, 4]
    assert found(make_session, text="transformers", split="train", suspected=True)[0] == 1
    assert found(make_session, text="images", tag="object-detection", tag_in="effective") == [3]


def test_sorts_and_pages(make_session: SessionFactory, catalogue: dict[str, int]) -> None:
    assert found(make_session, sort="title") == [5, 2, 3, 4, 1]
    assert found(make_session, sort="suspect") == [4, 1, 5, 3, 2]
    assert found(make_session, page_size=2, page=2) == [3, 2]
    with make_session() as session:
        page = search_projects(session, ProjectQuery(page_size=2, page=3), True)
    assert (page.total, page.pages, [r.id for r in page.rows]) == (5, 3, [1])


def test_rows_carry_status_and_the_three_tag_sets(
    make_session: SessionFactory, catalogue: dict[str, int]
) -> None:
    with make_session() as session:
        rows = search_projects(session, ProjectQuery(text="graph"), True).rows
    assert len(rows) == 1
    row = rows[0]
    assert (row.id, row.title, row.status) == (5, "Graph networks", "resolved")
    assert row.source_tags == ("graphs",)
    assert row.effective_tags == ("graphs", "nlp")
    assert row.predicted_tags == ()
    assert row.label_error_score == 0.0


def test_the_index_follows_edits_and_deletes(
    make_session: SessionFactory, catalogue: dict[str, int]
) -> None:
    with make_session.begin() as session:
        session.get(Project, 3).title = "Pedestrian detection"
        session.execute(delete(Project).where(Project.id == 5))
        session.add(Project(id=6, external_id="p6", title="Graph pedestrian", split="train"))
    assert found(make_session, text="pedestrian") == [6, 3]
    assert found(make_session, text="object") == [3]  # still in its description
    assert found(make_session, text="citation") == []
    with make_session() as session:
        assert session.scalar(select(Project.title).where(Project.id == 3)) == (
            "Pedestrian detection"
        )


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        (
            {"sort": "random"},
            "Unknown sort 'random'; choose one of: relevance, newest, title, suspect.",
        ),
        (
            {"tag_in": "votes"},
            "Unknown tag set 'votes'; choose one of: source, effective, predicted.",
        ),
        ({"page": 0}, "Pages start at 1 and hold 1 to 200 projects."),
    ],
)
def test_bad_queries_say_what_is_wrong(
    make_session: SessionFactory, criteria: dict[str, object], message: str
) -> None:
    with make_session() as session, pytest.raises(SearchError) as error:
        search_projects(session, ProjectQuery(**criteria), True)
    assert str(error.value) == message


def test_a_new_judgement_is_seen_by_the_next_search(
    make_session: SessionFactory, catalogue: dict[str, int]
) -> None:
    assert found(make_session, status="single") == [3]
    submit(make_session, catalogue["bob"], 4, ["nlp"], [], None, None, "bob-4")
    assert found(make_session, status="single") == [4, 3]
    assert found(make_session, tag="nlp", tag_in="effective") == [5, 4, 1]
