"""Shorten or summarize by keeping the writer's own sentences: a method that cannot invent.

The model scores each sentence by how much it tells (its mean surprisal, in nats per token,
given the text before it: predictable filler scores low, new facts and names score high). The
best sentences that fit the word limit are kept in their original order. When even one
sentence is over the limit, sentences are split into clauses; as a last resort the best unit
is cut at a word boundary, so the result is always within the limit."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from inference.runtime.answer_check import proper_names, sentences, word_count

# Scores (nats per token) for each unit's tokens, in order; supplied by the runtime.
Scorer = Callable[[Sequence[str]], list[float]]

_CLAUSE_SPLIT = re.compile(r"(?<=[,;:—–])\s+")
# The first sentence usually says what the passage is about.
_FIRST_BONUS = 1.0
_NAME_BONUS = 0.3


@dataclass(frozen=True)
class Unit:
    text: str
    index: int
    words: int


def extract(source: str, max_words: int, scorer: Scorer) -> str:
    """The most informative sentences of ``source`` within ``max_words``, in order."""
    max_words = max(1, max_words)
    units = [Unit(s, i, word_count(s)) for i, s in enumerate(sentences(source))]
    units = [u for u in units if u.words]
    if not units:
        return ""
    if min(u.words for u in units) > max_words:
        clauses = [c for u in units for c in _CLAUSE_SPLIT.split(u.text) if word_count(c)]
        units = [Unit(c, i, word_count(c)) for i, c in enumerate(clauses)]
    scores = scorer([u.text for u in units])
    names = proper_names(source)
    ranked = sorted(
        units,
        key=lambda u: (
            -(
                scores[u.index]
                + (_FIRST_BONUS if u.index == 0 else 0.0)
                + _NAME_BONUS * sum(1 for n in names if n in u.text)
            )
        ),
    )
    chosen: list[Unit] = []
    used = 0
    for unit in ranked:
        if used + unit.words <= max_words:
            chosen.append(unit)
            used += unit.words
    if not chosen:
        return _cut_words(ranked[0].text, max_words)
    chosen.sort(key=lambda u: u.index)
    return _join(chosen)


def _join(units: Sequence[Unit]) -> str:
    parts = []
    for unit in units:
        text = unit.text.strip()
        if text and text[-1] in ",;:—–":
            text = text[:-1].rstrip() + "."
        if text and text[0].islower():
            text = text[0].upper() + text[1:]
        parts.append(text)
    return " ".join(parts)


def _cut_words(text: str, max_words: int) -> str:
    kept: list[str] = []
    for token in text.split():
        if word_count(" ".join([*kept, token])) > max_words:
            break
        kept.append(token)
    result = " ".join(kept).rstrip(",;:—–")
    return result + "…" if result and result[-1] not in ".!?…" else result
