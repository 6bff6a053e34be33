from __future__ import annotations

import sys
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from desktop.library import Library, save_notes
from desktop.library.backups import backup_library


def test_backup_holds_documents_and_notes_not_snapshots(library: Library, tmp_path: Path) -> None:
    doc = library.create_document(library.create_folder(name="Book"), "One", "text one")
    save_notes(library.root, doc, "a note")
    library.snapshots.take(doc, "old text")
    (library.root / ".trash").mkdir()
    (library.root / ".trash" / "gone.md").write_text("x")
    target = backup_library(library.root, tmp_path / "backups", now=datetime(2026, 1, 2, 3, 4, 5))
    assert target is not None and target.name == "Library-20260102-030405.zip"
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == [".draftsmith/notes/Book/One.md", "Book/One.md"]
        assert archive.read("Book/One.md") == b"text one"


def test_unchanged_library_is_not_backed_up_twice_and_old_ones_are_pruned(
    library: Library, tmp_path: Path
) -> None:
    doc = library.create_document(title="A", text="v0")
    backups = tmp_path / "backups"
    assert backup_library(library.root, backups, keep=2, now=datetime(2026, 1, 1, 0, 0, 0))
    assert backup_library(library.root, backups, keep=2, now=datetime(2026, 1, 1, 0, 0, 1)) is None
    for second in range(2, 5):
        doc.write_text(f"v{second}", encoding="utf-8")
        assert backup_library(library.root, backups, keep=2, now=datetime(2026, 1, 1, 0, 0, second))
    assert [p.name for p in sorted(backups.glob("*.zip"))] == [
        "Library-20260101-000003.zip",
        "Library-20260101-000004.zip",
    ]


def test_empty_library_has_nothing_to_back_up(library: Library, tmp_path: Path) -> None:
    assert backup_library(library.root, tmp_path / "backups") is None


def test_a_changes_backup_holds_only_what_changed_since_the_full_one(
    library: Library, tmp_path: Path
) -> None:
    from desktop.library.backups import backup_changes

    kept = library.create_document(title="Kept", text="same")
    edited = library.create_document(title="Edited", text="v1")
    gone = library.create_document(title="Gone", text="bye")
    backups = tmp_path / "backups"
    full = backup_library(library.root, backups, now=datetime(2026, 1, 1, 0, 0, 0))
    assert full is not None
    assert backup_changes(library.root, backups) is None, "nothing changed yet"
    edited.write_text("v2 longer", encoding="utf-8")
    gone.unlink()
    library.create_document(title="New", text="fresh")
    changes = backup_changes(library.root, backups, now=datetime(2026, 1, 1, 0, 5, 0))
    assert changes is not None and changes.name == "Library-20260101-000500-changes.zip"
    with zipfile.ZipFile(changes) as archive:
        assert sorted(archive.namelist()) == ["CHANGES.txt", "Edited.md", "New.md"]
        note = archive.read("CHANGES.txt").decode()
    assert full.name in note and "Gone.md" in note
    assert kept.exists()
    # Restoring = the full backup, then the changes over it.
    restored = tmp_path / "restored"
    for archive_path in (full, changes):
        with zipfile.ZipFile(archive_path) as archive:
            archive.extractall(restored)
    assert (restored / "Edited.md").read_text() == "v2 longer"
    assert (restored / "Kept.md").read_text() == "same"


def test_a_changes_backup_too_big_for_closing_is_refused_before_writing(
    library: Library, tmp_path: Path
) -> None:
    import pytest

    from desktop.library.backups import BackupTooLarge, backup_changes

    library.create_document(title="Big", text="x" * 5000)
    with pytest.raises(BackupTooLarge):
        backup_changes(library.root, tmp_path / "backups", limit_bytes=1000)
    assert not list((tmp_path / "backups").glob("*.zip"))


def test_the_installed_app_finishes_a_big_backup_with_its_own_binary(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frozen app has no Python for ``-m``: its binary takes ``--finish-backup``, which the
    command line really runs."""
    from desktop import cli
    from desktop.library import backups

    library.create_document(title="Chapter", text="Words that need keeping.")
    destination = tmp_path / "backups"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    command = backups.after_exit_command(library.root, destination)
    assert command[:2] == [sys.executable, backups.FINISH_BACKUP_FLAG]
    monkeypatch.undo()
    assert "-m" in backups.after_exit_command(library.root, destination)
    assert cli.main(command[1:]) == 0
    (written,) = destination.glob("*.zip")
    with zipfile.ZipFile(written) as archive:
        assert any("Chapter" in name for name in archive.namelist())
