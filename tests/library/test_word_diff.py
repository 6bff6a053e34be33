from __future__ import annotations

from datetime import datetime, timedelta

from desktop.library.word_diff import ADDED, FOLDED, REMOVED, SAME, time_in_words, word_diff


def test_a_changed_word_shows_as_that_word_not_the_whole_paragraph() -> None:
    diff = word_diff("The fog rolled in at dusk.", "The mist rolled in at dusk, slowly.")
    kinds = [(p.kind, p.text) for p in diff.pieces]
    assert (REMOVED, "fog") in kinds and (ADDED, "mist") in kinds
    assert kinds[0] == (SAME, "The ")
    assert diff.words_added == 3 and diff.words_removed == 2  # +mist +dusk, +slowly. -fog -dusk.
    assert "3 words added, 2 removed" in diff.summary()


def test_long_unchanged_stretches_fold() -> None:
    old = "\n".join(f"line {n}" for n in range(100))
    new = old.replace("line 50", "line fifty")
    diff = word_diff(old, new)
    folded = [p.text for p in diff.pieces if p.kind == FOLDED]
    assert len(folded) == 2 and "unchanged lines" in folded[0]
    shown = "".join(p.text for p in diff.pieces if p.kind != FOLDED)
    assert "line 49" in shown and "line 10\n" not in shown
    assert diff.words_added == 1 and diff.words_removed == 1


def test_same_text_is_unchanged_and_new_paragraphs_are_added() -> None:
    assert word_diff("a b", "a b").unchanged
    diff = word_diff("One.", "One.\n\nTwo new words.")
    assert diff.words_added == 3 and diff.words_removed == 0
    assert "".join(p.text for p in diff.pieces if p.kind != REMOVED) == "One.\n\nTwo new words."


def test_time_in_words() -> None:
    now = datetime(2026, 3, 12, 15, 0)
    assert time_in_words(now - timedelta(seconds=20), now) == "just now"
    assert time_in_words(now - timedelta(minutes=1), now) == "1 minute ago"
    assert time_in_words(now - timedelta(minutes=12), now) == "12 minutes ago"
    assert time_in_words(now - timedelta(hours=2), now) == "2 hours ago"
    assert time_in_words(datetime(2026, 3, 12, 9, 14), now) == "today at 09:14"
    assert time_in_words(datetime(2026, 3, 11, 18, 2), now) == "yesterday at 18:02"
    assert time_in_words(datetime(2026, 3, 9, 10, 30), now) == "Monday at 10:30"
    assert time_in_words(datetime(2026, 1, 3, 8, 0), now) == "3 January at 08:00"
    assert time_in_words(datetime(2025, 1, 3, 8, 0), now) == "3 January 2025 at 08:00"
