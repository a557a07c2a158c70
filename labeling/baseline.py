"""Version 0: a rule-based tagger every model version must beat.

A project gets a tag when the tag's name or one of its aliases appears as whole words in its
title or description (``self-supervised-learning`` matches "self supervised learning"), and
every taxonomy parent of a matched tag. It needs no labels and no training, so a model that
does not beat it is not worth serving; it is evaluated on the same projects and labels as the
model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Tag, TagAlias, TagParent

VERSION = 0
NAME = "rules"
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> tuple[str, ...]:
    """Lower-case alphanumeric runs: punctuation, hyphens and underscores separate words."""
    return tuple(_WORD.findall(text.lower()))


@dataclass(frozen=True)
class Rules:
    """Phrase (a tuple of words) -> the tags it names, and each tag's ancestors."""

    phrases: dict[tuple[str, ...], frozenset[str]]
    ancestors: dict[str, frozenset[str]]

    @cached_property
    def longest(self) -> int:
        """Words in the longest phrase; cached, since every word of every text asks (as a
        plain property it took 83 s of a 20,000 x 400-tag training, issue 16's profile)."""
        return max((len(p) for p in self.phrases), default=0)

    @cached_property
    def phrases_of(self) -> dict[str, tuple[tuple[str, ...], ...]]:
        """Tag -> the phrases (its name and aliases, as words) that name it."""
        found: dict[str, list[tuple[str, ...]]] = {}
        for phrase, tags in self.phrases.items():
            for tag in tags:
                found.setdefault(tag, []).append(phrase)
        return {tag: tuple(phrases) for tag, phrases in found.items()}


def build_rules(
    names: Sequence[str], aliases: dict[str, Sequence[str]], parents: dict[str, Sequence[str]]
) -> Rules:
    """Rules from tag names, their aliases and parents (tag -> direct parents); a phrase
    shared by two tags names both."""
    phrases: dict[tuple[str, ...], set[str]] = {}
    for tag in names:
        for phrase in (tag, *aliases.get(tag, ())):
            key = words(phrase)
            if key:
                phrases.setdefault(key, set()).add(tag)
    return Rules(
        phrases={key: frozenset(tags) for key, tags in phrases.items()},
        ancestors={tag: frozenset(ancestors(tag, parents)) for tag in names},
    )


def ancestors(tag: str, parents: Mapping[str, Sequence[str]]) -> set[str]:
    """Every tag above ``tag`` in the taxonomy (parents, their parents, ...)."""
    seen: set[str] = set()
    stack = list(parents.get(tag, ()))
    while stack:
        parent = stack.pop()
        if parent not in seen:
            seen.add(parent)
            stack.extend(parents.get(parent, ()))
    return seen


def load_rules(session: Session) -> Rules:
    """Rules from the active tags of the taxonomy, their aliases and parents."""
    active = dict(session.execute(select(Tag.id, Tag.name).where(Tag.active.is_(True))).all())
    aliases: dict[str, list[str]] = {}
    for alias, tag_id in session.execute(select(TagAlias.alias, TagAlias.tag_id)):
        if tag_id in active:
            aliases.setdefault(active[tag_id], []).append(alias)
    parents: dict[str, list[str]] = {}
    for tag_id, parent_id in session.execute(select(TagParent.tag_id, TagParent.parent_id)):
        if tag_id in active and parent_id in active:
            parents.setdefault(active[tag_id], []).append(active[parent_id])
    return build_rules(sorted(active.values()), aliases, parents)


def tag_text(rules: Rules, text: str) -> frozenset[str]:
    """The tags the rules give one text: every phrase found as consecutive words, plus the
    ancestors of each matched tag. Looks up each run of up to ``longest`` words once, so the
    cost grows with the text, not with the number of tags."""
    tokens = words(text)
    found: set[str] = set()
    for start in range(len(tokens)):
        for length in range(1, min(rules.longest, len(tokens) - start) + 1):
            found |= rules.phrases.get(tokens[start : start + length], frozenset())
    for tag in list(found):
        found |= rules.ancestors.get(tag, frozenset())
    return frozenset(found)


def text_names(rules: Rules, text: str, tag: str) -> bool:
    """Whether ``text`` names ``tag``: its name or an alias as consecutive words, the last of
    which may go on (a plural or a compound: "GANs" for gan, "TFX" for tf, "PyTorch3D" for
    pytorch). Looser than :func:`tag_text`, on purpose: it is asked only before a tag is
    offered for removal, where naming the tag at all is reason enough to leave the decision
    to the person. Scans the text once per phrase of this one tag."""
    tokens = words(text)
    for phrase in rules.phrases_of.get(tag, ()):
        head, last = phrase[:-1], phrase[-1]
        for start in range(len(tokens) - len(phrase) + 1):
            end = start + len(head)
            if tokens[start:end] == head and tokens[end].startswith(last):
                return True
    return False


def tag_texts(rules: Rules, texts: Sequence[str]) -> list[frozenset[str]]:
    return [tag_text(rules, text) for text in texts]
