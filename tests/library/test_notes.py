from __future__ import annotations

from desktop.library import Library, load_notes, save_notes


def test_notes_follow_document_when_renamed(library: Library) -> None:
    doc = library.create_document(title="Story")
    assert load_notes(library.root, doc) == ""
    save_notes(library.root, doc, "Mara is left-handed.")
    library.snapshots.take(doc, "v1")
    renamed = library.rename(doc, "Novel")
    assert load_notes(library.root, renamed) == "Mara is left-handed."
    assert [s.read() for s in library.snapshots.list(renamed)] == ["v1"]
    save_notes(library.root, renamed, "")
    assert load_notes(library.root, renamed) == ""
