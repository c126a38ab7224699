"""Value types that cross the storage boundary."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Article:
    """A stored article (without its body)."""

    id: int
    title: str
    source: str | None
    url: str | None
    language: str
    published: str | None
    added_by: str | None
    added_at: str
    key_entities: tuple[str, ...] = ()
    fact_count: int = 0


@dataclass(frozen=True, slots=True)
class NewFact:
    """A fact to store; ``sentence_index`` points into the sentences stored with it."""

    sentence_index: int
    position: int
    text: str
    is_sentence: bool
    language: str
    kind: str
    entities: tuple[str, ...]
    numbers: tuple[str, ...]
    dates: tuple[str, ...]
    speaker: str | None
    start: int
    end: int
    index_terms: str
    use_vector: bytes
    e5_vector: bytes


@dataclass(frozen=True, slots=True)
class NewArticle:
    """An article to store, with its sentences (text, start, end) and facts."""

    title: str
    source: str | None
    url: str | None
    language: str
    published: str | None
    added_by: str | None
    content_hash: str
    body: str
    key_entities: tuple[str, ...]
    context_terms: str
    sentences: tuple[tuple[str, int, int], ...]
    facts: tuple[NewFact, ...]
    # Vocabulary words not stored before: (word, stem, is_arabic, USE vector as float16 bytes).
    new_terms: tuple[tuple[str, str, bool, bytes], ...] = ()
    # Every distinct content word of the article (counted in the vocabulary's article counts).
    vocabulary: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Fact:
    """A stored fact with its sentence and article, as retrieval returns it."""

    id: int
    article_id: int
    sentence_id: int
    text: str
    sentence: str
    is_sentence: bool
    language: str
    kind: str
    entities: tuple[str, ...]
    numbers: tuple[str, ...]
    dates: tuple[str, ...]
    speaker: str | None
