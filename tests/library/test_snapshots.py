from __future__ import annotations

from desktop.library import Library
from desktop.library.snapshots import unified_diff


def test_snapshots_newest_first_dedup_and_restore(library: Library) -> None:
    doc = library.create_document(title="Chapter 1", text="one")
    store = library.snapshots
    assert store.take(doc, "one", "opened") is not None
    assert store.take(doc, "one", "autosnapshot") is None, "identical text is not stored twice"
    store.take(doc, "one two", "autosnapshot")
    snaps = store.list(doc)
    assert [s.read() for s in snaps] == ["one two", "one"]
    assert snaps[1].reason == "opened"
    assert (library.root / ".draftsmith" / "snapshots" / "Chapter 1.md").is_dir()
    assert unified_diff("one", "one two")[-2:] == ["-one", "+one two"]


def test_snapshot_pruning(library: Library) -> None:
    library.snapshots.keep = 3
    doc = library.create_document(text="")
    for n in range(5):
        library.snapshots.take(doc, f"v{n}")
    assert [s.read() for s in library.snapshots.list(doc)] == ["v4", "v3", "v2"]
