"""Encoding a text again by re-tokenizing only what changed.

The writer types at the end of a document and asks again: the new prompt text equals the
previous one except for its tail (and, where the editor sends a window of the last N
characters, except for a few characters dropped at its start), yet encoding the whole of a
1,300-token document costs ~3 ms, twice per request. Byte-level BPE never merges across a
pre-token boundary, and the pre-tokenizers of the tokenizer files Draftsmith writes
(``gguf_tokenizer.py``: the GPT-2, Llama 3, Qwen 2, Tekken and llama.cpp-default splits,
regexes without look-behind) always end a pre-token between an ASCII letter and a following
space, whatever comes before or after, and start the next one there. So between two such
points inside a stretch two texts share (the space after the second point included), the
new text's ids are the earlier text's ids; only the text before the first point and after
the second is encoded. A tokenizer this cannot be shown for (a normalizer, look-behind or
anchors, added tokens that hold whitespace or strip it, a probe that does not split) is
always encoded whole, so the ids equal a whole encode in every case."""

from __future__ import annotations

import json
import logging
import threading
from bisect import bisect_left
from dataclasses import dataclass

import tokenizers

log = logging.getLogger(__name__)

Offsets = list[tuple[int, int]]

# Texts shorter than this are encoded whole (as quick) and not remembered.
MIN_REMEMBERED_CHARS = 256
# Earlier encodings kept: a request encodes its fitted text and then the prompt around it.
SLOTS = 4
# Regex syntax that would make a pre-token depend on the text before it (or on a position).
_CONTEXT_SYNTAX = ("(?<", "\\b", "\\B", "\\A", "\\z", "\\Z", "^", "$")
# Each has letter-space points; a pre-tokenizer must split at every one of them.
_PROBES = (
    "ab cd",
    "Ab  cd",
    "ab \ncd",
    "x's y't",
    "end. Next word",
    "word 123 word",
    "camelCase Word",
    "a\u00e9b c",
    "it, and so",
    "\u201cQuoted\u201d she said",
)


@dataclass(frozen=True)
class _Encoded:
    text: str
    ids: list[int]  # never mutated (callers get copies)
    offsets: Offsets
    starts: list[int]


def common_prefix_length(a: str, b: str) -> int:
    """How many leading characters ``a`` and ``b`` share (string compares in C, O(n))."""
    limit = min(len(a), len(b))
    if a[:limit] == b[:limit]:
        return limit
    low, high = 0, limit  # a[:low] == b[:low]; a[:high] != b[:high]
    while high - low > 1:
        middle = (low + high) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle
    return low


def first_safe_cut(text: str, start: int, end: int) -> int:
    """The first index ``start <= i < end`` where ``text[i]`` is a space after an ASCII
    letter, or -1 when there is none."""
    index = text.find(" ", max(start, 1), end)
    while index > 0:
        if _letter(text[index - 1]):
            return index
        index = text.find(" ", index + 1, end)
    return -1


def safe_cut(text: str, end: int) -> int:
    """The last index ``i < end`` where ``text[i]`` is a space after an ASCII letter (a
    pre-token boundary whatever follows), or 0 when there is none."""
    index = text.rfind(" ", 1, end)
    while index > 0:
        before = text[index - 1]
        if before.isascii() and before.isalpha():
            return index
        index = text.rfind(" ", 1, index)
    return 0


def supports_prefix_reuse(backend: tokenizers.Tokenizer) -> bool:
    """Whether ``backend`` provably splits between a letter and a following space (see the
    module's docstring); checked once per tokenizer, in well under a millisecond."""
    if backend.normalizer is not None or backend.pre_tokenizer is None:
        return False
    for token in backend.get_added_tokens_decoder().values():
        if token.lstrip or token.rstrip or any(char.isspace() for char in token.content):
            return False
    try:
        spec = json.loads(backend.pre_tokenizer.__getstate__())
    except Exception:  # a pre-tokenizer that cannot describe itself is not vouched for
        return False
    if not _plain_pre_tokenizer(spec):
        return False
    for probe in _PROBES:
        splits = {start for _, (start, _end) in backend.pre_tokenizer.pre_tokenize_str(probe)}
        wanted = {i for i in range(1, len(probe)) if probe[i] == " " and _letter(probe[i - 1])}
        if not wanted <= splits:
            return False
    return True


def _letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _plain_pre_tokenizer(spec: object) -> bool:
    """Split regexes without context syntax and byte-level mapping, nothing else."""
    if not isinstance(spec, dict):
        return False
    kind = spec.get("type")
    if kind == "Sequence":
        parts = spec.get("pretokenizers") or []
        return bool(parts) and all(_plain_pre_tokenizer(part) for part in parts)
    if kind == "ByteLevel":
        return not spec.get("add_prefix_space")
    if kind == "Split":
        pattern = spec.get("pattern") or {}
        regex = pattern.get("Regex")
        if regex is None or spec.get("behavior") != "Isolated" or spec.get("invert"):
            return False
        # Escaped characters and negated classes ("[^...]") are not anchors.
        plain = regex.replace("\\\\", "").replace("\\^", "").replace("\\$", "")
        plain = plain.replace("[^", "[")
        return not any(syntax in plain for syntax in _CONTEXT_SYNTAX)
    return False


@dataclass(frozen=True)
class Encoding:
    ids: list[int]
    offsets: Offsets
    reused_chars: int  # characters whose ids came from an earlier encode


class PrefixReuseEncoder:
    """``encode(text)`` equal to ``backend.encode(text, add_special_tokens=False)``, reusing
    the ids of a recent text that starts the same way, or of which ``text`` starts with a
    later part (a window of the last N characters after more typing). Thread-safe."""

    def __init__(self, backend: tokenizers.Tokenizer, *, slots: int = SLOTS) -> None:
        self._backend = backend
        self._slots = max(1, slots)
        self.enabled = supports_prefix_reuse(backend)
        if not self.enabled:
            log.info("tokenizer: prompts are encoded whole (prefix reuse not provable)")
        self._recent: list[_Encoded] = []  # most recent first
        self._lock = threading.Lock()

    def encode(self, text: str) -> Encoding:
        """Token ids and character offsets of ``text`` (the caller's own lists)."""
        if not self.enabled or len(text) < MIN_REMEMBERED_CHARS:
            ids, offsets = self._encode_whole(text)
            return Encoding(ids, offsets, 0)
        with self._lock:
            recent = list(self._recent)
        best: tuple[_Encoded, int, int] | None = None
        for earlier in recent:
            if earlier.text == text:  # asked again (a request is planned, then run)
                best = earlier, 0, len(text)
                break
            start, shared = _alignment(earlier.text, text)
            if shared > (best[2] if best else 0):
                best = earlier, start, shared
        reused = self._reuse(*best, text) if best is not None else None
        if reused is None:
            ids, offsets = self._encode_whole(text)
            reused = _Encoded(text, ids, offsets, [start for start, _ in offsets]), 0
        encoded, reused_chars = reused
        self._remember(encoded)
        return Encoding(list(encoded.ids), list(encoded.offsets), reused_chars)

    def _reuse(
        self, earlier: _Encoded, start: int, shared: int, text: str
    ) -> tuple[_Encoded, int] | None:
        """``text`` equals ``earlier.text[start:start + shared]`` up to ``shared``: reuse
        the earlier ids between the first and the last safe cut inside that stretch."""
        if start == 0 and shared == len(text) == len(earlier.text):
            return earlier, shared
        head_end = 0 if start == 0 else first_safe_cut(text, 1, shared)
        tail_start = safe_cut(text, shared)
        if head_end < 0 or tail_start - head_end < MIN_REMEMBERED_CHARS // 4:
            return None
        first = _token_starting_at(earlier, start + head_end)
        last = _token_starting_at(earlier, start + tail_start)
        if first is None or last is None:
            return None  # no token starts there: not the tokenizer this was shown for
        head_ids, head_offsets = self._encode_whole(text[:head_end]) if head_end else ([], [])
        tail_ids, tail_offsets = self._encode_whole(text[tail_start:])
        kept_offsets = earlier.offsets[first:last]
        kept_starts = earlier.starts[first:last]
        if start:  # the earlier text began ``start`` characters sooner
            kept_offsets = [(s - start, e - start) for s, e in kept_offsets]
            kept_starts = [s - start for s in kept_starts]
        tail_offsets = [(s + tail_start, e + tail_start) for s, e in tail_offsets]
        offsets = head_offsets + kept_offsets + tail_offsets
        starts = [s for s, _ in head_offsets] + kept_starts + [s for s, _ in tail_offsets]
        ids = head_ids + earlier.ids[first:last] + tail_ids
        return _Encoded(text, ids, offsets, starts), tail_start - head_end

    def _encode_whole(self, text: str) -> tuple[list[int], Offsets]:
        encoding = self._backend.encode(text, add_special_tokens=False)
        return encoding.ids, encoding.offsets

    def _remember(self, encoded: _Encoded) -> None:
        with self._lock:
            recent = [e for e in self._recent if e.text != encoded.text]
            self._recent = [encoded, *recent][: self._slots]

    def forget(self) -> None:
        """Drop the remembered texts."""
        with self._lock:
            self._recent = []


# How many leading characters of a new text are looked for in an earlier one (a window that
# lost its first characters still starts with these).
_ANCHOR_CHARS = 48


def _alignment(earlier: str, text: str) -> tuple[int, int]:
    """(where ``text`` starts in ``earlier``, how many characters from there they share);
    (0, 0) when ``text`` does not start with a stretch of ``earlier``."""
    shared = common_prefix_length(earlier, text)
    if shared >= _ANCHOR_CHARS or len(text) < _ANCHOR_CHARS:
        return 0, shared
    start = earlier.find(text[:_ANCHOR_CHARS])
    if start <= 0:
        return 0, shared
    return start, common_prefix_length(earlier[start:], text)


def _token_starting_at(encoded: _Encoded, position: int) -> int | None:
    """The index of the token that starts at ``position`` when the one before it ends
    there too, else None."""
    index = bisect_left(encoded.starts, position)
    if index >= len(encoded.starts) or encoded.starts[index] != position:
        return None
    if index and encoded.offsets[index - 1][1] > position:
        return None
    return index
