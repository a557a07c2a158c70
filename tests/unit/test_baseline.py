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


def test_a_text_names_a_tag_by_its_name_or_an_alias_and_their_plurals_and_compounds() -> None:
    rules = baseline.build_rules(
        ["tensorflow", "gan", "self-supervised-learning", "nlp"],
        {"tensorflow": ["tf", "keras"], "gan": ["generative adversarial network"]},
        {},
    )
    # an alias as a word, or as the start of one (TFX, TFLite: TensorFlow's own tools)
    assert baseline.text_names(rules, "Built on TFX components and Vertex AI", "tensorflow")
    assert baseline.text_names(rules, "a Keras model", "tensorflow")
    # a plural of the name, and of a phrase's last word
    assert baseline.text_names(rules, "GANs that draw faces", "gan")
    assert baseline.text_names(rules, "two generative adversarial networks", "gan")
    assert baseline.text_names(
        rules, "Self-supervised learning for X-rays", "self-supervised-learning"
    )
    # not inside a word, not a phrase's words apart, not another tag
    assert not baseline.text_names(rules, "an outfit recommender", "tensorflow")
    assert not baseline.text_names(
        rules, "supervised learning of self-driving", "self-supervised-learning"
    )
    assert not baseline.text_names(rules, "GANs that draw faces", "nlp")
    assert not baseline.text_names(rules, "", "gan")
    assert not baseline.text_names(rules, "tf", "unknown-tag")
