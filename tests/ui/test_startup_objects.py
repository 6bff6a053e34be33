"""What start-up builds stays out of Python's later cyclic collections: a full collection
walked a big library's listing and sidebar rows on the GUI thread (23 ms at 10,000 documents,
4 ms once they are left out)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import ScriptedPrompter, library_of


@pytest.fixture
def collections_restored() -> Iterator[None]:
    """The rest of the test run collects everything again."""
    yield
    gc.unfreeze()
    gc.enable()


def tracked(obj: object) -> bool:
    """Whether the next full collection walks ``obj``."""
    return any(other is obj for other in gc.get_objects())


def test_the_window_and_the_rows_filled_after_it_are_left_out_of_collections(
    qtbot: Any, tmp_path: Path, filled_in_slices: Any, collections_restored: None
) -> None:
    from desktop.ui.app import open_window

    library = tmp_path / "Library"
    library.mkdir()
    library_of(library, 10)
    window = open_window(library, prompter=ScriptedPrompter())
    assert window is not None
    qtbot.addWidget(window)
    assert gc.isenabled()
    assert not tracked(window) and not tracked(window.library_pane)
    pane = window.library_pane
    assert not pane.filled(), "the last folder's rows come after the window opened"
    qtbot.waitUntil(pane.filled)
    last_row = pane.item_for(library / "Part 2" / "Chapter 9.md")
    assert last_row is not None
    qtbot.waitUntil(lambda: not tracked(last_row), timeout=2000)
    window.close()


def test_collections_resume_when_the_window_cannot_open(
    qtbot: Any, tmp_path: Path, collections_restored: None
) -> None:
    from desktop.ui.app import open_window

    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x", encoding="utf-8")
    gc.disable()  # as the command line leaves it while it imports the editor
    assert open_window(blocker / "Library", prompter=ScriptedPrompter()) is None
    assert gc.isenabled()
