"""A spelling dictionary's words as one sorted string with offsets and counts, searched by
bisection: no Python object per word.

A 160,000-word ``dict`` takes its loading thread ~0.1 s of interpreter time at every start (the
time the GUI thread waits for the lock in the app's first second) and ~20 MB; this table loads
from its cache file in a few milliseconds of copying and takes ~4 µs a lookup. Words within two
edits are found by walking the sorted words as a trie, skipping every word under a prefix that
is already too far: a right-click on a name used to generate and look up ~900,000 strings.
"""

from __future__ import annotations

import codecs
import json
import sys
import zlib
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import accumulate

from desktop.interpreter_lock import hand_over

FORMAT = b"DSWORDS1\n"
# Hand the interpreter lock over every this many words while building, and encode or decode the
# text this many characters or bytes at a time (a German list is 4 MB: ~5 ms in one piece).
CHUNK_WORDS = 2000
TEXT_CHUNK = 256 * 1024
_OFFSET_BYTES, _COUNT_BYTES = array("I").itemsize, array("q").itemsize
_AFTER_EVERY_WORD = "\U0010ffff"  # sorts after any word that starts with a given prefix


def _in_order(words: list[str]) -> bool:
    """Whether ``words`` are sorted, checked a piece at a time with the lock handed over."""
    for first in range(0, len(words), CHUNK_WORDS):
        piece = words[max(first - 1, 0) : first + CHUNK_WORDS]  # overlapping the last piece
        if piece != sorted(piece):
            return False
        hand_over()
    return True


def _summed(
    piece: list[str], counts: list[int], numbers: array, before: str | None
) -> tuple[list[str], list[int]]:
    """``piece`` (sorted) with each word once and its counts summed; a first word equal to the
    word ``before`` it adds its count to that word's, already in ``numbers``."""
    words: list[str] = []
    summed: list[int] = []
    for word, count in zip(piece, counts, strict=True):
        if words and words[-1] == word:
            summed[-1] += count
        elif not words and before == word:
            numbers[-1] += count
        else:
            words.append(word)
            summed.append(count)
    return words, summed


@dataclass(frozen=True)
class WordList:
    """Lower-case words in code-point order, ``text[starts[i]:starts[i + 1]]`` the i-th, with
    their counts in the bundled list; ``letters`` every letter the words use."""

    text: str
    starts: array  # "I", len(counts) + 1 offsets into text
    counts: array  # "q"
    letters: str
    longest: int
    total: int

    @classmethod
    def from_counts(cls, counts: Mapping[str, int]) -> WordList:
        """The table of ``counts`` (lower-case words)."""
        return cls.from_pairs(list(counts), list(counts.values()))

    @classmethod
    def from_pairs(cls, words: list[str], counts: list[int]) -> WordList:
        """The table of ``words`` (lower-case) and their ``counts``, a word listed twice with
        its counts summed; built with the lock handed over often."""
        if not _in_order(words):  # one long hold of the lock; the bundled lists come sorted
            order = sorted(range(len(words)), key=words.__getitem__)
            words, counts = [words[i] for i in order], [counts[i] for i in order]
        starts = array("I", [0])
        numbers = array("q")
        letters: set[str] = set()
        pieces = []
        longest = 0
        for first in range(0, len(words), CHUNK_WORDS):
            piece = words[first : first + CHUNK_WORDS]
            piece_counts = counts[first : first + CHUNK_WORDS]
            before = words[first - 1] if first else None
            if len(set(piece)) < len(piece) or before == piece[0]:
                piece, piece_counts = _summed(piece, piece_counts, numbers, before)
            if not piece:
                continue
            ends = accumulate(map(len, piece), initial=starts[-1])
            next(ends)  # the initial offset, already there
            starts.extend(ends)
            numbers.extend(piece_counts)
            letters.update(*piece)
            longest = max(longest, *map(len, piece))
            pieces.append("".join(piece))
            hand_over()
        alphabet = "".join(sorted(letters))
        return cls("".join(pieces), starts, numbers, alphabet, longest, sum(numbers))

    def __len__(self) -> int:
        return len(self.counts)

    def word(self, index: int) -> str:
        return self.text[self.starts[index] : self.starts[index + 1]]

    def _lower_bound(self, key: str) -> int:
        text, starts = self.text, self.starts
        low, high = 0, len(self.counts)
        while low < high:
            middle = (low + high) // 2
            if text[starts[middle] : starts[middle + 1]] < key:
                low = middle + 1
            else:
                high = middle
        return low

    def index(self, word: str) -> int | None:
        at = self._lower_bound(word)
        return at if at < len(self.counts) and self.word(at) == word else None

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.index(word) is not None

    def count(self, word: str) -> int:
        at = self.index(word)
        return 0 if at is None else self.counts[at]

    def __iter__(self) -> Iterator[str]:
        return (self.word(index) for index in range(len(self.counts)))

    def near(self, word: str, limit: int) -> list[str]:
        """The words within ``limit`` edits of ``word`` (insert, delete, replace, swap two
        neighbours: optimal string alignment distance), in order.

        The sorted words are walked as a trie: a prefix shared with the previous word keeps its
        rows of the distance table, and once every entry of a prefix's row is over ``limit`` no
        word under that prefix can come within it, so all of them are skipped in one bisection
        (an entry never falls below the row before it's smallest, also with swaps)."""
        width = len(word)
        rows = [list(range(width + 1))]  # rows[k]: the table after the previous word's k letters
        previous = ""
        found = []
        index, total = 0, len(self.counts)
        while index < total:
            candidate = self.word(index)
            shared = 0
            most = min(len(rows) - 1, len(candidate))
            while shared < most and previous[shared] == candidate[shared]:
                shared += 1
            del rows[shared + 1 :]
            previous = candidate
            skipped = False
            for depth in range(shared, len(candidate)):
                letter = candidate[depth]
                above = rows[-1]
                two_above = rows[-2] if depth > 0 else None
                row = [above[0] + 1]
                for column in range(1, width + 1):
                    cost = above[column - 1] + (word[column - 1] != letter)
                    cost = min(cost, above[column] + 1, row[column - 1] + 1)
                    if (
                        two_above is not None
                        and column > 1
                        and letter == word[column - 2]
                        and candidate[depth - 1] == word[column - 1]
                    ):
                        cost = min(cost, two_above[column - 2] + 1)
                    row.append(cost)
                rows.append(row)
                if min(row) > limit:
                    index = self._lower_bound(candidate[: depth + 1] + _AFTER_EVERY_WORD)
                    skipped = True
                    break
            if not skipped:
                if rows[-1][width] <= limit:
                    found.append(candidate)
                index += 1
        return found

    def to_bytes(self) -> bytes:
        parts = []
        for first in range(0, len(self.text), TEXT_CHUNK):  # 4 MB at once: ~15 ms
            parts.append(self.text[first : first + TEXT_CHUNK].encode("utf-8"))
            hand_over()
        text = b"".join(parts)
        payload = b"".join((text, self.starts.tobytes(), self.counts.tobytes()))
        header = {
            "words": len(self.counts),
            "text_bytes": len(text),
            "letters": self.letters,
            "longest": self.longest,
            "total": self.total,
            "byteorder": sys.byteorder,
            "crc32": zlib.crc32(payload),
        }
        return FORMAT + json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n" + payload

    @classmethod
    def from_bytes(cls, data: bytes) -> WordList:
        """The table ``to_bytes`` wrote; ValueError when ``data`` is not one, or damaged."""
        if not data.startswith(FORMAT):
            raise ValueError("not a word list")
        end = data.find(b"\n", len(FORMAT))
        try:
            header = json.loads(data[len(FORMAT) : end])
            words, text_bytes = int(header["words"]), int(header["text_bytes"])
            letters, longest = str(header["letters"]), int(header["longest"])
            total, expected_crc, byteorder = header["total"], header["crc32"], header["byteorder"]
        except (KeyError, TypeError) as error:
            raise ValueError("damaged header") from error
        payload = memoryview(data)[end + 1 :]
        if (
            byteorder != sys.byteorder
            or min(words, text_bytes) < 0
            or len(payload) != text_bytes + (words + 1) * _OFFSET_BYTES + words * _COUNT_BYTES
        ):
            raise ValueError("wrong size")
        if zlib.crc32(payload) != expected_crc:  # zlib lets other threads run meanwhile
            raise ValueError("damaged")
        starts, counts = array("I"), array("q")
        offsets_end = text_bytes + (words + 1) * _OFFSET_BYTES
        starts.frombytes(payload[text_bytes:offsets_end])
        counts.frombytes(payload[offsets_end:])
        decoder = codecs.getincrementaldecoder("utf-8")()
        parts = []
        for first in range(0, text_bytes, TEXT_CHUNK):
            last = min(first + TEXT_CHUNK, text_bytes)
            parts.append(decoder.decode(payload[first:last]))
            hand_over()
        text = "".join(parts) + decoder.decode(b"", final=True)
        if starts[0] != 0 or starts[-1] != len(text):
            raise ValueError("damaged offsets")
        return cls(text, starts, counts, letters, longest, total)
