from __future__ import annotations

from pathlib import Path

from desktop.library.document_title import free_title, is_untitled, title_from_text


def test_title_is_the_first_heading_else_the_first_line() -> None:
    assert title_from_text("") == ""
    assert title_from_text("\n\n  \n") == ""
    assert title_from_text("# The Lighthouse\n\nFog.") == "The Lighthouse"
    assert title_from_text("Fog rolled in.\n\n## Later heading") == "Later heading"
    assert title_from_text("\n**Fog** rolled in at _dusk_.\n") == "Fog rolled in at dusk"
    assert title_from_text("# 第一章 灯塔") == "第一章 灯塔"


def test_a_first_paragraph_gives_its_first_sentence() -> None:
    storm = "The storm came in after dusk. Mara pulled the shutters closed and counted the boats."
    assert title_from_text(storm) == "The storm came in after dusk"
    hale = "Mr. Hale came home late. The dog had gone."
    assert title_from_text(hale) == "Mr. Hale came home late"
    assert title_from_text('"Where to?" she asked. He did not say.') == "Where to she asked"
    assert title_from_text("It was 1999! 2000 came next.") == "It was 1999!"
    assert title_from_text("Fog rolled in. ") == "Fog rolled in"
    assert title_from_text("Chapter 1. The Storm") == "Chapter 1. The Storm"
    # A heading is the writer's title as written, sentences and all.
    assert title_from_text("# Part one. The sea\n\nText.") == "Part one. The sea"


def test_title_drops_characters_files_cannot_have_and_stays_short() -> None:
    assert title_from_text("# Why? A/B: notes*") == "Why A B notes"
    long = "word " * 40
    title = title_from_text(long)
    assert len(title) <= 60 and title.endswith("word") and " " in title


def test_untitled_names_and_free_titles(tmp_path: Path) -> None:
    assert is_untitled("Untitled") and is_untitled("Untitled 12")
    assert not is_untitled("Untitled draft")
    (tmp_path / "Story.md").write_text("x")
    assert free_title(tmp_path, "Story", ".md") == "Story 2"
    assert free_title(tmp_path, "Story", ".md", keep=tmp_path / "Story.md") == "Story"
    assert free_title(tmp_path, "Other", ".md") == "Other"
