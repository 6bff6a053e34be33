"""What changed between two versions of a document, word by word, for the history view.

Paragraphs are compared first (fast on a whole book), then the words inside each changed
stretch, so a moved comma shows as one word, not as a rewritten paragraph. Long unchanged
stretches fold into a "… N unchanged paragraphs …" marker.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime

SAME, ADDED, REMOVED, FOLDED = "same", "added", "removed", "folded"
CONTEXT_LINES = 2
_TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Piece:
    kind: str  # SAME, ADDED, REMOVED or FOLDED (text is then the marker to show)
    text: str


@dataclass(frozen=True)
class WordDiff:
    pieces: list[Piece]
    words_added: int
    words_removed: int

    @property
    def unchanged(self) -> bool:
        return not self.words_added and not self.words_removed

    def summary(self) -> str:
        if self.unchanged:
            return "No changes since this version."
        return (
            f"Since this version: {self.words_added:,} words added, {self.words_removed:,} removed."
        )


def _words(text: str) -> int:
    return sum(1 for token in _TOKENS.findall(text) if not token.isspace())


def word_diff(old: str, new: str) -> WordDiff:
    old_lines = old.split("\n")
    new_lines = new.split("\n")
    pieces: list[Piece] = []
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    opcodes = matcher.get_opcodes()
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            lines = old_lines[i1:i2]
            first, last = index == 0, index == len(opcodes) - 1
            keep_head = 0 if first else CONTEXT_LINES
            keep_tail = 0 if last else CONTEXT_LINES
            if len(lines) > keep_head + keep_tail + 1:
                if keep_head:
                    pieces.append(Piece(SAME, "\n".join(lines[:keep_head]) + "\n"))
                hidden = len(lines) - keep_head - keep_tail
                pieces.append(Piece(FOLDED, f"… {hidden} unchanged lines …\n"))
                if keep_tail:
                    pieces.append(Piece(SAME, "\n".join(lines[-keep_tail:]) + "\n"))
            else:
                pieces.append(Piece(SAME, "\n".join(lines) + ("\n" if not last else "")))
            continue
        before = "\n".join(old_lines[i1:i2])
        after = "\n".join(new_lines[j1:j2])
        old_tokens = _TOKENS.findall(before)
        new_tokens = _TOKENS.findall(after)
        words = difflib.SequenceMatcher(None, old_tokens, new_tokens, autojunk=False)
        for wtag, a1, a2, b1, b2 in words.get_opcodes():
            if wtag == "equal":
                pieces.append(Piece(SAME, "".join(old_tokens[a1:a2])))
                continue
            if a2 > a1:
                text = "".join(old_tokens[a1:a2])
                removed += _words(text)
                pieces.append(Piece(REMOVED, text))
            if b2 > b1:
                text = "".join(new_tokens[b1:b2])
                added += _words(text)
                pieces.append(Piece(ADDED, text))
        if index != len(opcodes) - 1:
            pieces.append(Piece(SAME, "\n"))
    return WordDiff(_merge(pieces), added, removed)


def _merge(pieces: list[Piece]) -> list[Piece]:
    merged: list[Piece] = []
    for piece in pieces:
        if not piece.text:
            continue
        if merged and merged[-1].kind == piece.kind and piece.kind != FOLDED:
            merged[-1] = Piece(piece.kind, merged[-1].text + piece.text)
        else:
            merged.append(piece)
    return merged


def time_in_words(when: datetime, now: datetime | None = None) -> str:
    """“just now”, “12 minutes ago”, “today at 09:14”, “yesterday at 18:02”, “Monday at
    10:30”, “3 March at 08:00”, “3 March 2025 at 08:00”."""
    now = now or datetime.now()
    seconds = (now - when).total_seconds()
    clock = f"{when:%H:%M}"
    if 0 <= seconds < 60:
        return "just now"
    if 0 <= seconds < 3600:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    days = (now.date() - when.date()).days
    if days == 0:
        hours = int(seconds // 3600)
        if hours < 3:
            return f"{hours} hour{'s' if hours != 1 else ''} ago"
        return f"today at {clock}"
    if days == 1:
        return f"yesterday at {clock}"
    if 1 < days < 7:
        return f"{when:%A} at {clock}"
    if when.year == now.year:
        return f"{when.day} {when:%B} at {clock}"
    return f"{when.day} {when:%B %Y} at {clock}"
