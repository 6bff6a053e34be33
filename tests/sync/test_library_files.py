"""Which files sync, and how names from other devices become safe local names."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.sync import library_files as lf


@pytest.mark.parametrize(
    ("rel", "synced"),
    [
        ("Chapter 1.md", True),
        ("drafts/old.markdown", True),
        ("notes.txt", True),
        (".draftsmith/notes/Chapter 1.md", True),
        (".draftsmith/library.lock", False),
        (".draftsmith/snapshots/x.md", False),
        (".trash/gone.md", False),
        (".Chapter 1.md.abc123.tmp", False),
        ("picture.png", False),
        ("draft.md~", False),
    ],
)
def test_what_syncs(rel: str, synced: bool) -> None:
    assert lf.is_synced(rel) is synced


@pytest.mark.parametrize(
    "rel",
    [
        "../escape.md",
        "/etc/passwd.md",
        "a/../../b.md",
        "",
        "a//b.md",
        "./a.md",
        "x\x00.md",
        ".draftsmith/library.json",
        "run.sh",
    ],
)
def test_unsafe_names_from_other_devices_are_refused(rel: str) -> None:
    assert not lf.safe_relative(rel)


def test_windows_local_names() -> None:
    assert lf.local_name("CON.md", windows=True) == "_CON.md"
    assert lf.local_name("a:b?.md", windows=True) == "a_b_.md"
    assert lf.local_name("dir\\..\\..\\x.md", windows=True) == "dir/_/_/x.md"
    assert lf.local_name("trailing. ", windows=True) == "trailing"
    assert lf.local_name("CON.md", windows=False) == "CON.md"


def test_free_name_is_case_insensitive(tmp_path: Path) -> None:
    (tmp_path / "Notes.md").write_text("x")
    assert lf.free_name(tmp_path, "notes.md", {"Notes.md"}) == "notes (2).md"
    assert lf.free_name(tmp_path, "fresh.md", {"Notes.md"}) == "fresh.md"
    assert lf.conflict_name("a/b.md", "Laptop", "2026-01-02 03.04") == (
        "a/b (conflict from Laptop, 2026-01-02 03.04).md"
    )


def test_nfd_name_on_disk_is_found_by_its_nfc_path(tmp_path: Path) -> None:
    nfd = "Cafe\u0301.md"
    (tmp_path / nfd).write_text("x")
    found = lf.scan(tmp_path)
    assert list(found) == ["Caf\u00e9.md"]
    assert lf.on_disk(tmp_path, "Caf\u00e9.md").name == nfd


def test_atomic_write_refuses_wrong_text_and_late_changes(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    target = folder / "t.md"
    target.write_text("old")
    with pytest.raises(lf.ContentMismatch):
        lf.atomic_write_chunks(target, [b"new"], expected_sha256="0" * 64)
    assert lf.atomic_write_chunks(target, [b"new"], still_ok=lambda: False) is None
    assert target.read_text() == "old"
    assert sorted(p.name for p in folder.iterdir()) == ["t.md"]  # no temp files left
