from __future__ import annotations

import errno
import os
from datetime import datetime
from pathlib import Path

import pytest

import atomic_write as atomic_write_module
from desktop.library import ChangedOnDiskError, DocumentFile, SaveError


def test_save_then_read_round_trips_unicode(work: Path) -> None:
    doc = DocumentFile(work / "a.md")
    doc.save("Naïve café — “quotes” 🙂\n")
    assert DocumentFile(work / "a.md").read() == "Naïve café — “quotes” 🙂\n"
    assert [p.name for p in work.iterdir()] == ["a.md"], "no temp file left behind"


def test_refuses_to_overwrite_file_changed_on_disk(work: Path) -> None:
    path = work / "a.md"
    path.write_text("original", encoding="utf-8")
    doc = DocumentFile(path)
    doc.read()
    path.write_text("changed by a sync tool", encoding="utf-8")
    with pytest.raises(ChangedOnDiskError, match="changed by another program"):
        doc.save("my edit")
    assert path.read_text(encoding="utf-8") == "changed by a sync tool"
    copy = doc.save_conflict_copy("my edit", now=datetime(2026, 1, 2, 3, 4))
    assert copy.name == "a (my version 2026-01-02 03.04).md"
    assert copy.read_text(encoding="utf-8") == "my edit"
    second = doc.save_conflict_copy("again", now=datetime(2026, 1, 2, 3, 4))
    assert second.name == "a (my version 2026-01-02 03.04) 2.md"


def test_new_file_that_appears_before_first_save_is_not_overwritten(work: Path) -> None:
    doc = DocumentFile(work / "new.md")
    (work / "new.md").write_text("someone else's", encoding="utf-8")
    with pytest.raises(ChangedOnDiskError):
        doc.save("mine")


def test_disk_full_leaves_old_file_intact_and_says_so(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = work / "a.md"
    doc = DocumentFile(path)
    doc.save("version one")

    real_fsync = os.fsync

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_write_module.os, "fsync", full_disk)
    with pytest.raises(SaveError) as caught:
        doc.save("version two")
    monkeypatch.setattr(atomic_write_module.os, "fsync", real_fsync)
    assert "disk is full" in str(caught.value)
    assert caught.value.retryable
    assert path.read_text(encoding="utf-8") == "version one"
    assert [p.name for p in work.iterdir()] == ["a.md"]
    doc.save("version two")  # retry works once space is back
    assert path.read_text(encoding="utf-8") == "version two"


@pytest.mark.skipif(
    os.geteuid() == 0 if hasattr(os, "geteuid") else False, reason="root ignores folder permissions"
)
def test_read_only_folder_is_a_plain_error(work: Path) -> None:
    folder = work / "ro"
    folder.mkdir()
    doc = DocumentFile(folder / "a.md")
    doc.save("text")
    folder.chmod(0o500)
    try:
        with pytest.raises(SaveError, match="isn't allowed to write"):
            doc.save("more text")
    finally:
        folder.chmod(0o700)


def test_read_only_filesystem_message(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic_write_module.tempfile, "mkstemp", read_only)
    with pytest.raises(SaveError) as caught:
        DocumentFile(work / "a.md").save("x")
    assert "read-only" in str(caught.value)
    assert not caught.value.retryable


def test_latin1_file_opens(work: Path) -> None:
    (work / "old.md").write_bytes("café".encode("latin-1"))
    assert DocumentFile(work / "old.md").read() == "café"
