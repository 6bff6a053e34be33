"""The sidebar's word counts: the tree appears without reading documents, counts fill in from
a background thread, and a second start takes them from the persistent cache."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import desktop.library.library as library_module
from desktop.library import Library
from tests.ui.conftest import library_of


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every real word count of a document's text (a spy: the real count runs)."""
    calls: list[int] = []
    real = library_module.count_words

    def spy(text: str) -> int:
        words = real(text)
        calls.append(words)
        return words

    monkeypatch.setattr(library_module, "count_words", spy)
    return calls


def _filled(window: Any) -> None:
    assert window.library_pane.word_counts.wait(10)


def test_a_second_start_takes_word_counts_from_the_persistent_cache(
    qtbot: Any, make_window: Any, library: Library, counted: list[int]
) -> None:
    documents = library_of(library.root, 30)
    first = make_window()
    _filled(first)
    qtbot.waitUntil(lambda: first.library_pane.words_shown_for(documents[-1]) == "30")
    assert sorted(counted) == sorted(list(range(1, 31)) * 2)
    first.close()

    counted.clear()
    second = make_window(library=Library(library.root))  # a new process would have no memory
    _filled(second)
    qtbot.wait(50)  # the last batch is delivered through the event loop
    assert counted == [], "unchanged files are not read again"
    pane = second.library_pane
    assert pane.words_shown_for(documents[0]) == "1"
    assert pane.words_shown_for(documents[-1]) == "30"
    assert pane.words_shown_for(library.root / "Part 2") == f"{sum(range(1, 31)):,}"

    # A file changed by another program is counted again (only that one).
    documents[0].write_text("now five words in here", encoding="utf-8")
    third = make_window(library=Library(library.root))
    _filled(third)
    qtbot.waitUntil(lambda: third.library_pane.words_shown_for(documents[0]) == "5")
    assert counted == [5]


def test_a_touched_but_unchanged_file_is_not_recounted(
    qtbot: Any, make_window: Any, library: Library, counted: list[int]
) -> None:
    documents = library_of(library.root, 3)
    _filled(make_window())
    counted.clear()
    stat = documents[1].stat()
    import os

    os.utime(documents[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    window = make_window(library=Library(library.root))
    _filled(window)
    qtbot.wait(50)
    assert counted == [], "same bytes (hash checked): no recount"
    assert window.library_pane.words_shown_for(documents[1]) == "2"


def test_the_tree_is_listed_before_any_document_is_read(
    qtbot: Any, make_window: Any, library: Library, counted: list[int], monkeypatch: Any
) -> None:
    import desktop.ui.sidebar as sidebar_module

    monkeypatch.setattr(sidebar_module, "COUNT_NOW_SECONDS", 0.0)  # a library too big to wait
    documents = library_of(library.root, 40)
    window = make_window()
    # All 80 titles are there at once; their counts arrive from the background thread.
    assert len([t for t in window.library_pane.titles() if t.startswith("Chapter")]) == 80
    qtbot.waitUntil(lambda: window.library_pane.words_shown_for(documents[-1]) == "40")
    assert window.library_pane.words_shown_for(library.root / "Part 1") == f"{sum(range(41)):,}"


def test_a_damaged_cache_only_costs_a_recount(
    qtbot: Any, make_window: Any, library: Library, counted: list[int]
) -> None:
    documents = library_of(library.root, 2)
    _filled(make_window())
    cache = library.word_counts.cache_file
    assert cache.exists()
    cache.write_text("{not json", encoding="utf-8")
    counted.clear()
    window = make_window(library=Library(library.root))
    _filled(window)
    qtbot.waitUntil(lambda: window.library_pane.words_shown_for(documents[-1]) == "2")
    assert sorted(counted) == [1, 1, 2, 2]


def test_searching_a_big_library_returns_to_the_event_loop_and_finishes_in_the_background(
    qtbot: Any, make_window: Any, library: Library, monkeypatch: Any
) -> None:
    import desktop.ui.sidebar as sidebar_module

    monkeypatch.setattr(sidebar_module, "SEARCH_NOW_SECONDS", 0.0)  # "too big to wait for"
    library_of(library.root, 30)
    (library.root / "Part 2" / "Chapter 30.md").write_text("the lighthouse", encoding="utf-8")
    window = make_window()
    pane = window.library_pane
    pane.search.setText("lighthouse")
    assert pane.results.count() == 0, "the rest is searched in the background"
    qtbot.waitUntil(lambda: pane.results.count() == 1, timeout=10000)
    assert pane.results.item(0).text() == "Chapter 30:1  the lighthouse"
    pane.search.setText("nowhere to be found")
    qtbot.waitUntil(lambda: pane.results.count() == 1, timeout=10000)
    assert pane.results.item(0).text() == "Nothing found"


def test_a_save_keeps_the_tree_and_a_document_rewritten_outside_is_recounted(
    qtbot: Any, make_window: Any, library: Library, counted: list[int], monkeypatch: Any
) -> None:
    from tests.ui.conftest import type_into

    documents = library_of(library.root, 5)
    window = make_window()
    _filled(window)
    pane = window.library_pane
    rebuilds: list[int] = []
    real_refresh = pane.refresh
    monkeypatch.setattr(pane, "refresh", lambda: rebuilds.append(1) or real_refresh())
    counted.clear()

    # Our own save (a temporary file beside the document, renamed over it): no rebuild of
    # the tree (10,000 rows in a big library), no re-read of the file for its count.
    document = window.open_document(documents[0])
    type_into(qtbot, document.editor, "Two more ")
    with qtbot.waitSignal(document.saved, timeout=10000):
        document.save_in_background()
    qtbot.wait(800)  # past the listing's 400 ms settle time
    assert rebuilds == []
    assert pane.words_shown_for(documents[0]) == "3"
    assert counted == []

    # Another program replaces a document the same way: only its count changes.
    replacement = documents[1].with_suffix(".tmp")
    replacement.write_text("now four words here", encoding="utf-8")
    os.replace(replacement, documents[1])
    qtbot.waitUntil(lambda: pane.words_shown_for(documents[1]) == "4", timeout=10000)
    assert rebuilds == []

    # A document that came from outside is listed.
    (library.root / "Part 1" / "Epilogue.md").write_text("The end.", encoding="utf-8")
    qtbot.waitUntil(lambda: "Epilogue" in pane.titles(), timeout=10000)
    assert rebuilds == [1]


def test_recounting_one_folder_keeps_the_rest_of_the_cache(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    documents = library_of(library.root, 3)
    window = make_window()
    _filled(window)
    counts = window.library_pane.word_counts
    counts.recount(documents[:3])  # "Part 1" changed on disk
    assert counts.wait(10)
    library.save_word_counts()
    fresh = Library(library.root)  # the next start
    assert [fresh.remembered_word_count(d) for d in documents] == [1, 2, 3, 1, 2, 3]


def test_a_pass_running_when_its_window_goes_away_ends_quietly(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from PySide6.QtCore import QObject

    from desktop.ui.library_word_counts import LibraryWordCounts

    errors: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    library = Library(tmp_path / "Library")
    library.ensure_exists(welcome=False)
    documents = library_of(library.root, 400)
    owner = QObject()
    counts = LibraryWordCounts(library, owner)
    counts.start(documents)
    with qtbot.waitSignal(owner.destroyed):
        owner.deleteLater()
    assert counts.wait(60)
    assert errors == [], "the counting thread failed after its window was gone"


def test_a_big_library_shows_its_folders_at_once_and_its_documents_between_events(
    qtbot: Any, make_window: Any, library: Library, monkeypatch: Any, filled_in_slices: Any
) -> None:
    """Past ``FILL_NOW_DOCUMENTS`` the tree shows every folder and its first documents at
    once; the rest arrive in order between events, and a count that comes first still shows."""
    monkeypatch.setattr(filled_in_slices, "COUNT_NOW_SECONDS", 0.0)
    documents = library_of(library.root, 30)
    (library.root / "Loose.md").write_text("one two three", encoding="utf-8")
    window = make_window()
    pane = window.library_pane
    assert not pane.filled()
    assert sorted(t for t in pane.titles() if t.startswith("Part")) == ["Part 1", "Part 2"]
    # The first seven documents, and every other folder's first (Part 2's Chapter 1).
    assert len([t for t in pane.titles() if t.startswith("Chapter")]) == 8
    part2 = pane.item_for(library.root / "Part 2")
    assert part2 is not None and part2.childCount() == 1
    assert pane.lists(documents[-1]) and pane.item_for(documents[-1]) is None
    pane.set_document_words(documents[-1], 99)  # a save's count, before the row exists
    assert pane.words_shown_for(library.root / "Part 2") == "99"
    qtbot.waitUntil(pane.filled)
    assert pane.words_shown_for(documents[-1]) == "99"
    chapters = [f"Chapter {n}" for n in range(1, 31)]
    for part in ("Part 1", "Part 2"):
        folder = pane.item_for(library.root / part)
        assert folder is not None
        shown = [folder.child(i).text(0) for i in range(folder.childCount())]
        assert shown == chapters, "in natural order, none twice"
    top = [pane.tree.topLevelItem(i).text(0) for i in range(pane.tree.topLevelItemCount())]
    assert top == ["Part 1", "Part 2", "Loose"]
    assert len(pane.titles()) == 63


def test_folders_still_filling_open_when_their_documents_are_in(
    qtbot: Any, make_window: Any, library: Library, filled_in_slices: Any
) -> None:
    """Rows added to an open folder make the view lay out every shown row again (per slice,
    ~7 ms at 10,000 rows): a folder still being filled stays closed until its last row is in,
    then opens as every folder does; background loading waits for the whole listing."""
    library_of(library.root, 30)
    window = make_window()
    pane = window.library_pane
    part1, part2 = (pane.item_for(library.root / p) for p in ("Part 1", "Part 2"))
    assert part1 is not None and part2 is not None
    assert not pane.filled()
    assert not part1.isExpanded() and not part2.isExpanded()
    listed: list[bool] = []
    window.when_library_listed(lambda: listed.append(pane.filled()))
    qtbot.waitUntil(lambda: listed == [True])
    assert part1.isExpanded() and part2.isExpanded()
    window.when_library_listed(lambda: listed.append(pane.filled()))  # later: at once
    qtbot.waitUntil(lambda: listed == [True, True])


def test_filling_closed_folders_does_not_repaint_the_tree_each_slice(
    qtbot: Any, make_window: Any, library: Library, monkeypatch: Any, filled_in_slices: Any
) -> None:
    """The view repaints when a shown folder gets its first row or opens; with a paint after
    every slice (~3 ms for a tree full of rows) a big library's fill held the event loop
    for most of a frame at a time. Every folder has its first row from the start and the
    waiting folders open together once every row is in."""
    from PySide6.QtCore import QEvent, QObject

    monkeypatch.setattr(filled_in_slices, "FILL_SLICE_SECONDS", 0.0)  # one batch per slice
    for part in range(1, 11):
        folder = library.root / f"Part {part}"
        folder.mkdir()
        for number in range(1, 101):
            (folder / f"Chapter {number}.md").write_text("word", encoding="utf-8")
    slices: list[int] = []
    paints: list[int] = []

    class PaintSpy(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                paints.append(len(slices))
            return False

    fill_some = filled_in_slices.LibraryPane._fill_some
    monkeypatch.setattr(
        filled_in_slices.LibraryPane,
        "_fill_some",
        lambda pane: (slices.append(1), fill_some(pane))[1],
    )
    window = make_window()
    pane = window.library_pane
    spy = PaintSpy()
    pane.tree.viewport().installEventFilter(spy)
    qtbot.waitUntil(pane.filled)
    qtbot.wait(50)  # the paint after the folders opened
    assert len(slices) >= 10
    assert all(pane.item_for(library.root / f"Part {n}").isExpanded() for n in range(1, 11))
    during_fill = [at for at in paints if 0 < at < len(slices)]
    assert len(during_fill) <= 2, f"{len(paints)} paints over {len(slices)} slices"
    assert len(slices) in paints, "the opened folders were painted"


def test_a_folder_opened_or_kept_closed_while_filling_stays_so(
    qtbot: Any, make_window: Any, library: Library, monkeypatch: Any, filled_in_slices: Any
) -> None:
    """The writer's choice wins over the fill's: a folder opened early stays open, and a
    re-listing during the fill keeps the folders that were going to open."""
    monkeypatch.setattr(filled_in_slices, "FILL_SLICE_SECONDS", 0.0)  # one batch per slice
    library_of(library.root, 300)
    window = make_window()
    pane = window.library_pane
    pane.refresh()  # mid-fill: Part 1 and Part 2 were still to open
    part1 = pane.item_for(library.root / "Part 1")
    assert part1 is not None and not part1.isExpanded()
    part1.setExpanded(True)  # the writer opens it before its rows are all in
    qtbot.waitUntil(pane.filled)
    part2 = pane.item_for(library.root / "Part 2")
    assert part1.isExpanded() and part2 is not None and part2.isExpanded()
    assert part1.childCount() == 300 and part2.childCount() == 300
