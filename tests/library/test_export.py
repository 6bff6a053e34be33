from __future__ import annotations

from pathlib import Path

import docx
import pytest

from desktop.library import Library, SaveError
from desktop.library.export import export_text, folder_text, markdown_to_plain

SAMPLE = """# Chapter One

Some **bold** and *italic* words, and `code`.

- first item
- second item

1. numbered

> A quote from someone.

## Scene
Plain closing line.
"""


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

    lib = Library(tmp_path / "lib")
    lib.ensure_exists(welcome=False)
    book = lib.create_folder(name="Book")
    lib.create_document(book, "Chapter 10", "# Ten\n")
    lib.create_document(book, "Chapter 2", "# Two\n")
    chapters = [d for d in lib.documents() if d.parent == book]
    assert folder_text(chapters) == "# Two\n\n# Ten\n"


def test_export_failure_is_plain_words(tmp_path: Path) -> None:

    with pytest.raises(SaveError, match="Couldn't save"):
        export_text("x", tmp_path / "missing-folder" / "a.md", "md")


def test_plain_text_strips_links() -> None:
    assert markdown_to_plain("See [the site](http://x) now") == "See the site now"
