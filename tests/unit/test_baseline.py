"""Version 0, the rules baseline: names and aliases as whole words, plus taxonomy parents."""

from __future__ import annotations

from db.models import Tag, TagAlias, TagParent
from db.session import SessionFactory
from labeling import baseline

RULES = baseline.build_rules(
    ["computer-vision", "object-detection", "nlp", "transformers", "retired"],
    {"nlp": ["natural language processing"], "object-detection": ["yolo"]},
    {"object-detection": ["computer-vision"]},
)


def test_names_and_aliases_match_as_whole_words_with_parents() -> None:
    assert baseline.tag_text(RULES, "YOLO-v4: real-time object detection") == {
        "object-detection",
        "computer-vision",
    }
    assert baseline.tag_text(RULES, "Natural Language Processing with Transformers") == {
        "nlp",
        "transformers",
    }
    # Whole words only: "transformers" inside "transformersx" or "visionary" match nothing.
    assert baseline.tag_text(RULES, "transformersx for visionary computers") == frozenset()
    assert baseline.tag_text(RULES, "") == frozenset()


def test_rules_come_from_active_tags_aliases_and_parents(make_session: SessionFactory) -> None:
    with make_session.begin() as session:
        tags = {name: Tag(name=name) for name in ("computer-vision", "object-detection")}
        tags["retired"] = Tag(name="retired", active=False)
        session.add_all(tags.values())
        session.flush()
        session.add(TagAlias(alias="yolo", tag_id=tags["object-detection"].id))
        session.add(TagAlias(alias="old", tag_id=tags["retired"].id))
        session.add(
            TagParent(tag_id=tags["object-detection"].id, parent_id=tags["computer-vision"].id)
        )
    with make_session() as session:
        rules = baseline.load_rules(session)
    assert baseline.tag_texts(rules, ["yolo in the retired old lab", "nothing here"]) == [
        frozenset({"object-detection", "computer-vision"}),
        frozenset(),
    ]
