"""Fitting a document into the model's finite context.

The most recent text before the cursor matters most, so the fitted context is a *tail* of
it, starting at a paragraph boundary where possible, else a sentence, else a word. Starting
at a paragraph keeps the start stable while the writer types at the end, which lets the
prompt cache reuse the previous request's computation."""

from __future__ import annotations

import re
from dataclasses import dataclass

from inference.runtime.text_codec import TextCodec

_PARAGRAPH = re.compile(r"\n\s*\n")
_LINE = re.compile(r"\n")
_SENTENCE = re.compile(r"[.!?…][\"'”’)\]]*\s+")
_WORD = re.compile(r"\s+")
# A token is at most this many characters in practice; used to avoid tokenizing megabytes.
_MAX_CHARS_PER_TOKEN = 32


@dataclass(frozen=True)
class FittedText:
    text: str
    tokens: int
    cut: bool  # True when earlier text was left out


def fit_tail(text: str, budget: int, codec: TextCodec) -> FittedText:
    """The longest tail of ``text`` within ``budget`` tokens, cut at a natural boundary."""
    if budget <= 0:
        return FittedText("", 0, bool(text))
    max_chars = budget * _MAX_CHARS_PER_TOKEN
    window = text[-max_chars:] if len(text) > max_chars else text
    ids, offsets = codec.encode_with_offsets(window)
    if len(window) == len(text) and len(ids) <= budget:
        return FittedText(text, len(ids), False)
    # When the character pre-cut alone was enough, cut at a boundary near its start.
    start = 0 if len(ids) <= budget else offsets[len(ids) - budget][0]
    candidate = _cut_at_boundary(window, start)
    tokens = codec.count(candidate)
    while tokens > budget and candidate:
        # Token merges at the new start can change the count slightly; cut a bit more.
        candidate = _cut_at_boundary(candidate, max(1, len(candidate) // 20))
        tokens = codec.count(candidate)
    return FittedText(candidate, tokens, True)


def _cut_at_boundary(text: str, start: int) -> str:
    """Text from the first boundary at or after ``start`` (paragraph > line > sentence > word).

    A coarser boundary is used only if it keeps at least half of what fits."""
    remaining = len(text) - start
    limit = start + max(remaining // 2, 1)
    for pattern in (_PARAGRAPH, _LINE, _SENTENCE, _WORD):
        match = pattern.search(text, max(start - 1, 0))
        if match is not None and match.end() <= limit and match.end() < len(text):
            return text[match.end() :]
    return text[start:]


def fit_head(text: str, budget: int, codec: TextCodec) -> FittedText:
    """The beginning of ``text`` within ``budget`` tokens, ending at a natural boundary."""
    if budget <= 0:
        return FittedText("", 0, bool(text))
    window = text[: budget * _MAX_CHARS_PER_TOKEN]
    ids, offsets = codec.encode_with_offsets(window)
    if len(window) == len(text) and len(ids) <= budget:
        return FittedText(text, len(ids), False)
    end = offsets[min(budget, len(ids)) - 1][1] if ids else 0
    head = window[:end]
    for pattern in (_PARAGRAPH, _SENTENCE, _WORD):
        matches = [m.start() for m in pattern.finditer(head)]
        if matches and matches[-1] >= len(head) // 2:
            head = head[: matches[-1]]
            break
    while head and codec.count(head) > budget:
        head = head[: int(len(head) * 0.95)]
    return FittedText(head, codec.count(head), True)
