"""Several devices syncing through a real WebDAV server (WsgiDAV and rclone)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from desktop.sync import SyncReport
from tests.sync.dav_harness import DavServer, Fleet


def test_three_devices_edit_offline_then_converge(dav: DavServer, fleet_factory) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a, b, c = fleet.add("Laptop"), fleet.add("Desk"), fleet.add("Tablet")
    a.write("Chapter 1.md", "It was a dark night.\n")
    a.write("notes/ideas.md", "- dragons\n")
    fleet.sync_all()
    assert b.read("Chapter 1.md") == "It was a dark night.\n"
    assert c.read("notes/ideas.md") == "- dragons\n"

    # All three work offline on different documents, then sync in turn.
    a.write("Chapter 1.md", "It was a dark and stormy night.\n")
    b.write("notes/ideas.md", "- dragons\n- a lighthouse\n")
    c.write("Chapter 2.md", "Morning came.\n")
    fleet.sync_all()
    for device in (a, b, c):
        assert device.files() == {
            "Chapter 1.md": "It was a dark and stormy night.\n",
            "Chapter 2.md": "Morning came.\n",
            "notes/ideas.md": "- dragons\n- a lighthouse\n",
        }


def test_same_document_edited_on_two_devices_gives_a_conflict_copy(
    dav: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a, b = fleet.add("Laptop"), fleet.add("Desk")
    a.write("story.md", "base\n")
    fleet.sync_all()
    a.write("story.md", "laptop version\n")
    b.write("story.md", "desk version\n")
    a.sync()
    report = b.sync()
    # The device that syncs second keeps its writer's text; the other one is a conflict copy.
    assert b.read("story.md") == "desk version\n"
    assert len(report.conflicts) == 1
    copy = report.conflicts[0]
    assert copy.startswith("story (conflict from Laptop, ") and copy.endswith(".md")
    assert b.read(copy) == "laptop version\n"
    fleet.sync_all()
    assert a.files() == b.files()
    assert sorted(a.files().values()) == ["desk version\n", "laptop version\n"]


def test_concurrent_commits_resolve_the_same_way_everywhere(dav: DavServer, fleet_factory) -> None:
    """Both devices publish before seeing the other: (Lamport, device) picks one winner."""
    fleet: Fleet = fleet_factory(dav.url)
    a, b, c = fleet.add("A"), fleet.add("B"), fleet.add("C")
    a.write("x.md", "v0\n")
    fleet.sync_all()
    a.write("x.md", "from A\n")
    b.write("x.md", "from B\n")
    # Publish both without either fetching the other's change first.
    a.sync()
    # B commits in the same instant, before it could fetch A's entry: reconcile + publish
    # without the fetch step (what a race between two devices looks like).
    b.engine._reconcile(SyncReport(), True)
    b.engine._publish(SyncReport())
    assert b.read("x.md") == "from B\n"
    fleet.sync_all(rounds=3)
    assert a.files() == b.files() == c.files()
    assert sorted(a.files().values()) == ["from A\n", "from B\n"]


def test_edit_beats_delete_both_ways(dav: DavServer, fleet_factory) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a, b = fleet.add("A"), fleet.add("B")
    a.write("keep.md", "one\n")
    a.write("also.md", "two\n")
    fleet.sync_all()
    # Deleted on A, edited on B (A syncs first).
    (a.library / "keep.md").unlink()
    b.write("keep.md", "one, edited\n")
    # Edited on A, deleted on B (B syncs first the other way round).
    a.write("also.md", "two, edited\n")
    (b.library / "also.md").unlink()
    fleet.sync_all(rounds=3)
    for device in (a, b):
        assert device.files() == {"keep.md": "one, edited\n", "also.md": "two, edited\n"}


def test_delete_and_rename_propagate(dav: DavServer, fleet_factory) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a, b = fleet.add("A"), fleet.add("B")
    a.write("old name.md", "text\n")
    a.write("gone.md", "bye\n")
    fleet.sync_all()
    (a.library / "drafts").mkdir()
    os.replace(a.library / "old name.md", a.library / "drafts" / "new name.md")
    (a.library / "gone.md").unlink()
    fleet.sync_all()
    assert b.files() == {"drafts/new name.md": "text\n"}
    history = b.engine.history("drafts/new name.md")
    assert len(history) == 2 and history[0].current


def test_unicode_and_colliding_names(dav: DavServer, fleet_factory) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a, b = fleet.add("A"), fleet.add("B")
    names = {
        "Caf\u00e9.md": "nfc\n",
        "\U0001f409 dragons.md": "emoji\n",
        "\u05e9\u05dc\u05d5\u05dd.md": "rtl\n",
        "CON.md": "reserved on Windows\n",
        "Notes.md": "upper\n",
    }
    for rel, text in names.items():
        a.write(rel, text)
    # Same name, different case, created independently on the other device.
    b.write("notes.md", "lower\n")
    fleet.sync_all(rounds=3)
    assert a.files() == b.files()
    texts = sorted(a.files().values())
    assert texts == sorted([*names.values(), "lower\n"])
    # Case-insensitive collision: one of the two moved to a free name on every device.
    folded = [p.casefold() for p in a.files()]
    assert len(folded) == len(set(folded))
    # Nothing on the server reveals a title.
    listing = " ".join(p.relative_to(dav.root).as_posix() for p in dav.root.rglob("*"))
    for rel in names:
        assert rel.split(".")[0] not in listing


def test_new_device_joining_with_same_files_adopts_them(dav: DavServer, fleet_factory) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a = fleet.add("A")
    a.write("same.md", "identical\n")
    a.write("differs.md", "remote text\n")
    a.sync()
    b_library = fleet.tmp_path / "libraries" / "B"
    b_library.mkdir(parents=True)
    (b_library / "same.md").write_text("identical\n")
    (b_library / "differs.md").write_text("local text\n")
    b = fleet.add("B")
    report = b.sync()
    assert b.read("same.md") == "identical\n"
    assert b.read("differs.md") == "local text\n"  # the text on this disk stays put
    assert len(report.conflicts) == 1 and b.read(report.conflicts[0]) == "remote text\n"
    fleet.sync_all()
    assert a.files() == b.files()


def test_document_notes_in_metadata_folder_sync_but_machine_files_do_not(
    dav: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a, b = fleet.add("A"), fleet.add("B")
    a.write(".draftsmith/notes/chapter-1.md", "remember the lighthouse\n")
    a.write(".draftsmith/library.lock", "host=a pid=1\n")
    a.write(".draftsmith/journal/chapter-1.journal", "keystrokes\n")
    a.write("draft.md.tmp", "temp\n")
    fleet.sync_all()
    assert (b.library / ".draftsmith/notes/chapter-1.md").read_text() == "remember the lighthouse\n"
    assert not (b.library / ".draftsmith/library.lock").exists()
    assert not (b.library / ".draftsmith/journal").exists()
    assert not (b.library / "draft.md.tmp").exists()


@pytest.mark.parametrize("skew", [-86400 * 400, 86400 * 30])
def test_clock_skew_does_not_decide_which_edit_wins(
    dav: DavServer, fleet_factory, skew: int
) -> None:
    import time

    fleet: Fleet = fleet_factory(dav.url)
    a, b = fleet.add("A"), fleet.add("B")
    b.engine.clock = lambda: time.time() + skew
    a.write("doc.md", "v1\n")
    fleet.sync_all()
    b.write("doc.md", "v2 from skewed B\n")
    fleet.sync_all()
    a.write("doc.md", "v3 from A\n")
    fleet.sync_all()
    # Causality, not wall clocks: the later edit (v3) is the document on both devices.
    assert a.files() == b.files() == {"doc.md": "v3 from A\n"}


def test_three_way_conflict_keeps_every_text(dav: DavServer, fleet_factory) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a, b, c = fleet.add("A"), fleet.add("B"), fleet.add("C")
    a.write("same.md", "base\n")
    fleet.sync_all()
    for device in (a, b, c):
        device.write("same.md", f"from {device.name}\n")
    fleet.sync_all(rounds=3)
    assert a.files() == b.files() == c.files()
    assert sorted(a.files().values()) == ["from A\n", "from B\n", "from C\n"]
    # The last device to sync kept its own text in the document itself.
    assert a.files()["same.md"] == "from C\n"


def test_deleted_on_both_devices_stays_deleted(dav: DavServer, fleet_factory) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a, b = fleet.add("A"), fleet.add("B")
    a.write("gone.md", "bye\n")
    a.write("kept.md", "hi\n")
    fleet.sync_all()
    (a.library / "gone.md").unlink()
    (b.library / "gone.md").unlink()
    fleet.sync_all()
    assert a.files() == b.files() == {"kept.md": "hi\n"}


def test_document_with_unsaved_edits_is_left_alone_then_keeps_the_writers_text(
    dav: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a, b = fleet.add("Laptop"), fleet.add("Desk")
    b.write("story.md", "base\n")
    fleet.sync_all()
    a.write("story.md", "edited on the laptop\n")
    a.sync()
    b.engine.hold = {"story.md"}  # the editor on the desk has unsaved edits in it
    report = b.sync()
    assert report.skipped_busy == ["story.md"]
    assert b.read("story.md") == "base\n"
    b.write("story.md", "the writer's text\n")  # ...which the editor now saves
    b.engine.hold = set()
    report = b.sync()
    assert b.read("story.md") == "the writer's text\n"
    assert [b.read(p) for p in report.conflicts] == ["edited on the laptop\n"]
    a.sync()
    assert a.files() == b.files()


def test_many_changes_are_committed_in_batches(
    dav: DavServer, fleet_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop.sync import engine

    monkeypatch.setattr(engine, "PUBLISH_BATCH", 3)
    fleet: Fleet = fleet_factory(dav.url)
    a, b = fleet.add("A"), fleet.add("B")
    for i in range(7):
        a.write(f"d{i}.md", f"{i}\n")
    assert a.sync().published_seq == 3  # 3 + 3 + 1 revisions
    assert len(list((dav.root / "log" / a.engine.device_id).iterdir())) == 3
    b.sync()
    assert b.files() == a.files()


def test_the_sync_log_survives_a_restart(wsgidav_server: DavServer, fleet_factory) -> None:
    from desktop.sync import SyncEngine

    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A")
    a.write("one.md", "1\n")
    a.sync()
    a.engine.turn_off()
    a.engine.sync_once()  # not logged: nothing ran
    a.engine.turn_on()
    a.sync()
    reopened = SyncEngine(
        a.engine.state.path, a.library, client=wsgidav_server.client(), data_key=a.engine._data_key
    )
    try:
        rounds = reopened.recent_rounds()
    finally:
        reopened.close()
    assert [r.uploaded for _, r in rounds] == [["one.md"], []]
    assert rounds[0][0] <= rounds[1][0]


def test_case_only_rename(dav: DavServer, fleet_factory) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a, b = fleet.add("A"), fleet.add("B")
    a.write("notes.md", "n\n")
    fleet.sync_all()
    os.replace(a.library / "notes.md", a.library / "Notes.md")
    fleet.sync_all()
    assert a.files() == b.files() == {"Notes.md": "n\n"}


def test_the_enabled_flag_is_answered_without_touching_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GUI thread asks ``enabled`` while the sync thread uses the state database."""
    from desktop.sync.engine import SyncEngine
    from desktop.sync.state_db import StateDb

    state_path = tmp_path / "state.sqlite"
    state = StateDb(state_path)
    state.set("device_id", "d1")
    state.set("enabled", "1")
    state.close()
    engine = SyncEngine(state_path, tmp_path / "library", client=object(), data_key=b"k" * 32)  # type: ignore[arg-type]
    monkeypatch.setattr(StateDb, "get", lambda *_a, **_k: pytest.fail("queried the database"))
    assert engine.enabled
    monkeypatch.undo()
    engine.turn_off()
    assert not engine.enabled and StateDb(state_path).get("enabled") == "0"
    engine.turn_on()
    assert engine.enabled
