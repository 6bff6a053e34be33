from __future__ import annotations

import json
import random
import sys
import zlib

import pytest

from desktop.library.word_list import FORMAT, WordList


def alignment_distance(a: str, b: str) -> int:
    """Optimal string alignment distance, the textbook table."""
    table = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = min(
                table[i - 1][j] + 1,
                table[i][j - 1] + 1,
                table[i - 1][j - 1] + (a[i - 1] != b[j - 1]),
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
    return table[len(a)][len(b)]


def random_words(seed: int, count: int, letters: str) -> dict[str, int]:
    pick = random.Random(seed)
    return {
        "".join(pick.choice(letters) for _ in range(pick.randint(1, 7))): pick.randint(1, 10**10)
        for _ in range(count)
    }


def test_lookups_and_counts() -> None:
    counts = {"straße": 3, "éclair": 5, "привет": 7, "a": 1, "ab": 2, "𝔘nicode": 11}
    words = WordList.from_counts(counts)
    assert list(words) == sorted(counts) and len(words) == len(counts)
    assert all(word in words and words.count(word) == n for word, n in counts.items())
    assert "b" not in words and "abc" not in words and "" not in words and words.count("x") == 0
    assert words.total == sum(counts.values()) and words.longest == 7
    assert set(words.letters) == set("".join(counts))
    assert WordList.from_counts({}).near("abc", 2) == [] and "a" not in WordList.from_counts({})


def test_a_word_listed_twice_is_counted_once_with_its_counts_summed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As pyspellchecker sums "Apple" and "apple"; also where the repeats straddle the pieces
    the table is built in, and when they come out of order."""
    from collections import Counter

    import desktop.library.word_list as word_list

    monkeypatch.setattr(word_list, "CHUNK_WORDS", 3)
    pick = random.Random(5)
    words = sorted(pick.choice(["a", "b", "c", "d", "e"]) for _ in range(40))
    counts = [pick.randint(1, 9) for _ in words]
    expected: Counter[str] = Counter()
    for word, count in zip(words, counts, strict=True):
        expected[word] += count
    for order in (words, words[::-1]):
        table = WordList.from_pairs(order, counts if order is words else counts[::-1])
        assert dict(zip(table, table.counts, strict=True)) == expected
        assert table.total == sum(counts) and list(table) == sorted(expected)


@pytest.mark.parametrize("seed", range(4))
def test_near_finds_exactly_the_words_within_the_distance(seed: int) -> None:
    words = random_words(seed, 400, "abcdé")
    table = WordList.from_counts(words)
    probes = random_words(seed + 100, 30, "abcdéx")
    for probe in probes:
        for limit in (0, 1, 2):
            wanted = sorted(w for w in words if alignment_distance(probe, w) <= limit)
            assert table.near(probe, limit) == wanted, (probe, limit)


def test_the_stored_form_reads_back_and_damage_is_refused() -> None:
    table = WordList.from_counts(random_words(9, 3000, "aäbcßжя"))
    data = table.to_bytes()
    assert WordList.from_bytes(data) == table
    header = {"words": -1, "text_bytes": 8, "letters": "", "longest": 0, "total": 0}
    header |= {"byteorder": sys.byteorder, "crc32": zlib.crc32(b"")}
    negative = FORMAT + json.dumps(header).encode() + b"\n"
    truncated = (data[:-1], data + b"x", b"", b"DSWORDS1\n", FORMAT + b"{}\n", negative)
    for damaged in (*truncated, data[:-5] + b"\0" + data[-4:]):
        with pytest.raises(ValueError):
            WordList.from_bytes(damaged)
