from __future__ import annotations

import pytest

from desktop.library import LibraryError
from desktop.library.text_search import SearchOptions, find_all, replace_all, utf16_offset


def test_find_case_whole_word_and_regex() -> None:
    text = "Cat concat cat CAT"
    assert len(find_all(text, "cat", SearchOptions())) == 4
    assert len(find_all(text, "cat", SearchOptions(case_sensitive=True))) == 2
    assert len(find_all(text, "cat", SearchOptions(whole_word=True))) == 3
    new, n = replace_all(
        "2024-01-05 and 2025-12-31",
        r"(\d{4})-(\d\d)-(\d\d)",
        r"\3/\2/\1",
        SearchOptions(regex=True),
    )
    assert (new, n) == ("05/01/2024 and 31/12/2025", 2)
    new, n = replace_all("a.b a.b", "a.b", "X", SearchOptions())
    assert (new, n) == ("X X", 2)
    with pytest.raises(LibraryError, match="isn't valid"):
        find_all(text, "(", SearchOptions(regex=True))
    with pytest.raises(LibraryError, match="group"):
        replace_all(text, "cat", r"\2", SearchOptions(regex=True))


def test_utf16_offsets_for_qt() -> None:
    text = "🙂 smile"
    index = text.index("smile")
    assert utf16_offset(text, index) == index + 1
