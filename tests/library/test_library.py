from __future__ import annotations

import os
from pathlib import Path

import pytest

from desktop.library import Library, LibraryError
from desktop.library.daily_progress import DailyProgress
from desktop.library.markdown_outline import headings
from desktop.library.word_count import ParagraphWordCounter, count_words, reading_minutes


def test_first_run_creates_library_with_welcome(tmp_path: Path) -> None:
    lib = Library(tmp_path / "New")
    welcome = lib.ensure_exists()
    assert welcome is not None and welcome.read_text(encoding="utf-8").startswith("# Welcome")
    assert Library(tmp_path / "New").ensure_exists() is None, "second run writes nothing"


def test_the_welcome_document_reads_as_prose_in_the_editor(tmp_path: Path) -> None:
    """The editor shows a document's Markdown as written: a paragraph wrapped in the source
    would show its line break to the writer, and a word the spell checker does not know
    would be underlined in the first thing they read."""
    from desktop.library.library import WELCOME_TEXT
    from desktop.library.spelling import SpellDictionary

    for block in WELCOME_TEXT.split("\n\n"):
        lines = block.strip().splitlines()
        assert len(lines) == 1 or all(line.startswith("- ") for line in lines), block
    spelling = SpellDictionary("en", tmp_path / "personal.txt")
    assert [word for _, _, word in spelling.misspelled(WELCOME_TEXT)] == []


def test_tree_counts_words_sorts_naturally_and_hides_dot_folders(library: Library) -> None:
    book = library.create_folder(name="Book")
    library.create_document(book, "Chapter 10", "ten words " * 5)
    library.create_document(book, "Chapter 2", "two words")
    (library.root / "notes.txt").write_text("not markdown")
    (library.root / ".git").mkdir()
    (library.root / ".git" / "x.md").write_text("hidden")
    (library.root / "Loose.md").write_text("made by another tool", encoding="utf-8")
    tree = library.tree()
    assert [n.title for n in tree.children] == ["Book", "Loose"]
    assert [n.title for n in tree.children[0].children] == ["Chapter 2", "Chapter 10"]
    assert tree.children[0].words == 12
    assert tree.words == 16
    assert [p.name for p in library.documents()] == ["Chapter 2.md", "Chapter 10.md", "Loose.md"]


def test_create_rename_move_delete(library: Library) -> None:
    doc = library.create_document(title="Untitled")
    again = library.create_document(title="Untitled")
    assert again.name == "Untitled 2.md"
    renamed = library.rename(doc, "Opening")
    assert renamed.name == "Opening.md" and not doc.exists()
    with pytest.raises(LibraryError, match="already"):
        library.rename(again, "Opening")
    with pytest.raises(LibraryError, match="can't be used"):
        library.rename(again, "a/b")
    folder = library.create_folder(name="Part One")
    moved = library.move(renamed, folder)
    assert moved == folder / "Opening.md" and moved.exists()
    with pytest.raises(LibraryError, match="into itself"):
        library.move(folder, folder)
    where = library.delete(moved, use_system_trash=False)
    assert where == library.root / ".trash" / "Part One" / "Opening.md"
    assert where.exists() and not moved.exists()
    assert moved not in library.documents()


def test_delete_uses_system_trash_when_available(
    library: Library, isolated_user_dirs: dict[str, Path]
) -> None:
    doc = library.create_document(title="Bin me", text="x")
    assert library.delete(doc) is None
    assert not doc.exists()
    from send2trash import plat_other

    # send2trash reads XDG_DATA_HOME once, on import: that is the first test's isolated dir.
    trash_home = Path(os.fsdecode(plat_other.XDG_DATA_HOME))
    assert "pytest-of-" in str(trash_home), "never the real home's trash"
    assert list(trash_home.rglob("Bin me.md")), "it is in the (isolated) XDG trash"


def test_search_titles_and_text(library: Library) -> None:
    library.create_document(title="Harbour", text="Fog.\nThe lighthouse blinked.\n")
    library.create_document(title="Lighthouse keeper", text="Nothing here")
    hits = library.search("LIGHTHOUSE")
    assert {(h.path.stem, h.in_title, h.line) for h in hits} == {
        ("Harbour", False, 2),
        ("Lighthouse keeper", True, 0),
    }
    assert library.search("   ") == []


def test_library_language_setting(library: Library) -> None:
    assert library.spelling_language() == "en"
    library.set_config("spelling_language", "fr")
    assert Library(library.root).spelling_language() == "fr"


def test_word_counts() -> None:
    assert count_words("") == 0
    assert count_words("# Heading\n\n- don't stop — *now*, well-known 3.5 e-mail") == 7
    counter = ParagraphWordCounter()
    big = "\n".join(f"paragraph {n} has five words" for n in range(2000))
    assert counter.count(big) == count_words(big) == 10000
    assert counter.count(big + " more") == 10001
    assert reading_minutes(0) == 0 and reading_minutes(1) == 1 and reading_minutes(460) == 2


def test_daily_progress_counts_only_added_words(tmp_path: Path) -> None:
    from datetime import date

    progress = DailyProgress(tmp_path / "p.json", today=date(2026, 3, 1))
    progress.update(Path("a.md"), 100)
    progress.update(Path("a.md"), 160)
    progress.update(Path("b.md"), 10)
    progress.update(Path("b.md"), 5)
    assert progress.words_today() == 60
    progress.save()
    assert DailyProgress(tmp_path / "p.json", today=date(2026, 3, 1)).words_today() == 60
    assert DailyProgress(tmp_path / "p.json", today=date(2026, 3, 2)).words_today() == 0


def test_daily_progress_saved_in_the_background_keeps_the_newest_figures(tmp_path: Path) -> None:
    from datetime import date

    progress = DailyProgress(tmp_path / "p.json", today=date(2026, 3, 1))
    progress.update(Path("a.md"), 100)
    for words in range(101, 151):
        progress.update(Path("a.md"), words)
        progress.save_in_background()  # after each autosave: no fsync on the GUI thread
    progress.save_in_background().result(timeout=10)
    assert DailyProgress(tmp_path / "p.json", today=date(2026, 3, 1)).words_today() == 50


def test_outline_skips_code_blocks() -> None:
    text = "# One\ntext\n```\n# not a heading\n```\n## Two ##\n#nospace"
    assert [(h.level, h.title, h.line) for h in headings(text)] == [(1, "One", 0), (2, "Two", 5)]


def test_word_counts_are_cached_until_the_file_changes(library: Library) -> None:
    doc = library.create_document(title="A", text="one two")
    assert library.word_count(doc) == 2
    doc.write_text("one two three four", encoding="utf-8")
    assert library.word_count(doc) == 4
    assert library.folders() == [library.root]


def test_daily_progress_counts_ai_words_apart(tmp_path: Path) -> None:
    from datetime import date

    progress = DailyProgress(tmp_path / "p.json", today=date(2026, 3, 1))
    progress.update(Path("a.md"), 100)
    progress.update(Path("a.md"), 216)  # 116 typed
    progress.add_ai_words(Path("a.md"), 50)
    progress.update(Path("a.md"), 266)  # and 50 accepted from a suggestion
    assert progress.words_written_today() == 116 and progress.ai_words_today() == 50
    progress.save()
    again = DailyProgress(tmp_path / "p.json", today=date(2026, 3, 1))
    assert again.words_written_today() == 116 and again.ai_words_today() == 50
    again.update(Path("a.md"), 100)  # everything deleted again
    assert again.words_written_today() == 0 and again.ai_words_today() == 0
    assert DailyProgress(tmp_path / "p.json", today=date(2026, 3, 2)).ai_words_today() == 0


def test_notes_of_a_file_outside_the_library_are_kept(library: Library, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "notes.md"
    assert library.load_notes(outside) == ""
    library.save_notes(outside, "Mara is the keeper's daughter.")
    assert library.load_notes(outside) == "Mara is the keeper's daughter."
    assert not (outside.parent / ".draftsmith").exists()
