"""Holding back streamed text that might be the start of a stop string.

When generation must stop at, say, ``"<|im_end|>"`` or ``"\\n\\n"`` typed out as plain text,
the streamed pieces must never show part of that string: text that could still turn into a
stop string is held until it either does (and is dropped) or cannot (and is released)."""

from __future__ import annotations

from collections.abc import Sequence


class StopStringFilter:
    def __init__(
        self, stop_strings: Sequence[str], keep: Sequence[str] = (), *, after_text: bool = False
    ) -> None:
        """``keep``: stop strings whose text (without trailing whitespace) stays in the output,
        e.g. ``". "`` to stop after a sentence but keep its full stop. ``after_text``: leading
        whitespace never stops the text (a continuation may begin with the paragraph break a
        ``"\\n\\n"`` rule would otherwise end it on)."""
        self.stop_strings = tuple(s for s in stop_strings if s)
        self.keep = frozenset(keep)
        self._held = ""
        self.stopped = False
        self._waiting_for_text = after_text

    def feed(self, piece: str) -> str:
        """Text safe to show now; sets ``stopped`` when a stop string completed."""
        if self.stopped:
            return ""
        if self._waiting_for_text:
            stripped = piece.lstrip()
            lead = piece[: len(piece) - len(stripped)]
            if not stripped:
                return lead
            self._waiting_for_text = False
            return lead + self.feed(stripped)
        text = self._held + piece
        if not self.stop_strings:
            self._held = ""
            return text
        found = [(text.find(s), s) for s in self.stop_strings]
        hits = [(index, stop) for index, stop in found if index >= 0]
        if hits:
            cut, stop = min(hits, key=lambda hit: (hit[0], -len(hit[1])))
            self.stopped = True
            self._held = ""
            return text[:cut] + (stop.rstrip() if stop in self.keep else "")
        keep = self._longest_partial(text)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        """At the end of generation: whatever was held back was not a stop string."""
        text, self._held = self._held, ""
        return "" if self.stopped else text

    def _longest_partial(self, text: str) -> int:
        """Length of the longest suffix of ``text`` that is a proper prefix of a stop string."""
        best = 0
        for stop in self.stop_strings:
            for size in range(min(len(stop) - 1, len(text)), best, -1):
                if text.endswith(stop[:size]):
                    best = size
                    break
        return best
