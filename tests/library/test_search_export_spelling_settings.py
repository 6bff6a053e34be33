from __future__ import annotations

import json
from pathlib import Path

import docx
import pytest

from desktop.library import LibraryError
from desktop.library.export import export_text, folder_text, markdown_to_plain
from desktop.library.spelling import SpellDictionary
from desktop.library.text_search import SearchOptions, find_all, replace_all, utf16_offset
from desktop.settings import Settings

SAMPLE = """# Chapter One

Some **bold** and *italic* words, and `code`.

- first item
- second item

1. numbered

> A quote from someone.

## Scene
Plain closing line.
"""


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


def test_export_formats(tmp_path: Path) -> None:
    export_text(SAMPLE, tmp_path / "a.md", "md")
    assert (tmp_path / "a.md").read_text(encoding="utf-8") == SAMPLE

    export_text(SAMPLE, tmp_path / "a.txt", "txt")
    plain = (tmp_path / "a.txt").read_text(encoding="utf-8")
    assert "Chapter One" in plain and "#" not in plain and "**" not in plain
    assert "• first item" in plain and "A quote from someone." in plain

    export_text(SAMPLE, tmp_path / "a.html", "html", title="Story")
    page = (tmp_path / "a.html").read_text(encoding="utf-8")
    assert "<h1>Chapter One</h1>" in page and "<strong>bold</strong>" in page
    assert "<blockquote>" in page and "<li>first item</li>" in page and "<title>Story" in page

    export_text(SAMPLE, tmp_path / "a.docx", "docx")
    document = docx.Document(str(tmp_path / "a.docx"))
    styled = [(p.style.name, p.text) for p in document.paragraphs]
    assert ("Heading 1", "Chapter One") in styled
    assert ("Heading 2", "Scene") in styled
    assert ("List Bullet", "first item") in styled
    assert ("List Number", "numbered") in styled
    assert ("Quote", "A quote from someone.") in styled
    body = next(p for p in document.paragraphs if p.text.startswith("Some"))
    assert [r.text for r in body.runs if r.bold] == ["bold"]
    assert [r.text for r in body.runs if r.italic] == ["italic"]


def test_export_folder_in_chapter_order(tmp_path: Path) -> None:
    from desktop.library import Library

    lib = Library(tmp_path / "lib")
    lib.ensure_exists(welcome=False)
    book = lib.create_folder(name="Book")
    lib.create_document(book, "Chapter 10", "# Ten\n")
    lib.create_document(book, "Chapter 2", "# Two\n")
    chapters = [d for d in lib.documents() if d.parent == book]
    assert folder_text(chapters) == "# Two\n\n# Ten\n"


def test_export_failure_is_plain_words(tmp_path: Path) -> None:
    from desktop.library import SaveError

    with pytest.raises(SaveError, match="Couldn't save"):
        export_text("x", tmp_path / "missing-folder" / "a.md", "md")


def test_plain_text_strips_links() -> None:
    assert markdown_to_plain("See [the site](http://x) now") == "See the site now"


def test_spelling_suggestions_and_personal_dictionary(tmp_path: Path) -> None:
    personal = tmp_path / "personal.txt"
    spell = SpellDictionary("en", personal)
    found = [w for _, _, w in spell.misspelled("Helo world, Zorblax’s wrold")]
    assert found == ["Helo", "Zorblax’s", "wrold"]
    assert spell.suggestions("wrold")[0] == "world"
    assert "Hello" in spell.suggestions("Helo")
    spell.add_to_personal("Zorblax’s")
    assert SpellDictionary("en", personal).is_correct("Zorblax’s")
    with pytest.raises(ValueError):
        SpellDictionary("xx", personal)


def test_settings_defaults_types_and_persistence(isolated_user_dirs: dict[str, Path]) -> None:
    settings = Settings()
    assert settings.theme() == "system"
    assert settings.daily_word_goal() == 1000
    assert settings.library_path() == isolated_user_dirs["documents"] / "Draftsmith"
    settings.set("theme", "dark")
    settings.set("font_size", 15)
    settings.save()
    assert (isolated_user_dirs["config"] / "Draftsmith" / "settings.json").exists()
    again = Settings()
    assert again.theme() == "dark" and again.get_int("font_size") == 15
    with pytest.raises(KeyError):
        settings.set("no_such_setting", 1)


def test_settings_survive_garbage(isolated_user_dirs: dict[str, Path]) -> None:
    path = isolated_user_dirs["config"] / "Draftsmith" / "settings.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"font_size": "huge", "spell_check": 1, "theme": "neon"}))
    settings = Settings()
    assert settings.get_int("font_size") == 13
    assert settings.get_bool("spell_check") is True
    assert settings.theme() == "system"
    path.write_text("{broken")
    assert Settings().get_int("font_size") == 13


def test_spelling_checks_only_the_script_its_dictionary_covers(tmp_path: Path) -> None:
    spell = SpellDictionary("en", tmp_path / "personal.txt")
    text = "我们今天去公园散步 今日はいい天気 안녕하세요 Helo"
    assert [w for _, _, w in spell.misspelled(text)] == ["Helo"]
    assert not spell.covers("東京") and spell.covers("don’t")
    russian = SpellDictionary("ru", tmp_path / "personal.txt")
    assert [w for _, _, w in russian.misspelled("привет превет 中文 hello")] == ["превет"]
