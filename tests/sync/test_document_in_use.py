"""Edited on two devices: the device where the writer is working keeps its text (issue 12,
finding 5).

The editor tells sync which documents are open (``SyncEngine.in_use``). When another
device's edit made this device's text a conflict copy, a document open here takes its text
back: the document keeps what the writer sees, and the other device's text becomes the
conflict copy, named after that device. Every device ends with the same files, and a
take-back is never taken back again, so two devices never pull a document to and fro.
"""

from __future__ import annotations

import re

from desktop.sync import SyncReport
from tests.sync.dav_harness import DavServer, Device, Fleet
from tests.sync.sync_invariants import duplicate_conflict_copies, newest_edit_missing


def _copies(device: Device) -> dict[str, str]:
    return {rel: text for rel, text in device.files().items() if "(conflict from" in rel}


def _two_offline_edits(fleet: Fleet) -> tuple[Device, Device]:
    a, b = fleet.add("Laptop"), fleet.add("Desk")
    a.write("story.md", "base\n")
    fleet.sync_all()
    a.write("story.md", "laptop text\n")
    b.write("story.md", "desk text\n")
    return a, b


def test_device_with_the_document_open_keeps_its_text_on_every_device(
    dav: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a, b = _two_offline_edits(fleet)
    a.engine.in_use = {"story.md"}  # the writer works on the laptop
    a.sync()  # the laptop publishes first
    b.sync()  # the desk syncs second: today's rule would keep the desk's text
    report = a.sync()

    assert a.read("story.md") == "laptop text\n"
    ((copy, text),) = _copies(a).items()
    assert re.fullmatch(r"story \(conflict from Desk, \d{4}-\d\d-\d\d \d\d\.\d\d\)\.md", copy)
    assert text == "desk text\n"
    assert report.conflicts == [copy]
    assert "story.md" not in report.changed_paths  # the open document was not touched

    fleet.sync_all()
    assert b.files() == a.files() == {"story.md": "laptop text\n", copy: "desk text\n"}
    assert duplicate_conflict_copies(a) == duplicate_conflict_copies(b) == []
    assert newest_edit_missing([a, b]) == []


def test_document_open_on_both_devices_settles_and_stays(dav: DavServer, fleet_factory) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a, b = _two_offline_edits(fleet)
    a.engine.in_use = {"story.md"}
    b.engine.in_use = {"story.md"}
    fleet.sync_all(rounds=3)

    # Open on both: the laptop (which synced first) takes its text back once; the desk,
    # open too, does not take it back again.
    expected = a.files()
    assert expected["story.md"] == "laptop text\n"
    assert sorted(expected.values()) == ["desk text\n", "laptop text\n"]
    assert b.files() == expected
    for _ in range(3):
        for device in (a, b):
            report = device.sync()
            assert report.uploaded == [] and report.changed_paths == []
            assert report.published_seq is None, "the devices keep taking the document back"
    assert a.files() == b.files() == expected


def test_open_document_still_follows_a_later_edit_elsewhere(dav: DavServer, fleet_factory) -> None:
    """The writer moved to the desk and edited after seeing the laptop's text: no conflict,
    so the laptop (document still open) shows the desk's newer text."""
    fleet: Fleet = fleet_factory(dav.url)
    a, b = fleet.add("Laptop"), fleet.add("Desk")
    a.engine.in_use = {"story.md"}
    a.write("story.md", "laptop text\n")
    fleet.sync_all()
    b.write("story.md", "laptop text\ndesk continues\n")
    fleet.sync_all()
    assert a.files() == b.files() == {"story.md": "laptop text\ndesk continues\n"}


def test_second_device_with_the_document_open_keeps_its_text(dav: DavServer, fleet_factory) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a, b = _two_offline_edits(fleet)
    b.engine.in_use = {"story.md"}
    a.sync()
    b.sync()
    fleet.sync_all()
    assert a.files() == b.files()
    assert b.read("story.md") == "desk text\n"
    (copy,) = _copies(b)
    assert copy.startswith("story (conflict from Laptop, ")


def test_loser_of_a_race_takes_its_text_back_when_open(dav: DavServer, fleet_factory) -> None:
    """Both devices publish without seeing the other; the (Lamport, device) rule picks
    one, and the device where the document is open gets its text back."""
    fleet: Fleet = fleet_factory(dav.url)
    a, b, c = fleet.add("A"), fleet.add("B"), fleet.add("C")
    a.write("x.md", "v0\n")
    fleet.sync_all()
    a.write("x.md", "from A\n")
    b.write("x.md", "from B\n")
    a.sync()
    b.engine._reconcile(SyncReport(), True)
    b.engine._publish(SyncReport())
    fleet.sync_all()
    winner = a.read("x.md")
    loser = a if winner == "from B\n" else b
    loser.engine.in_use = {"x.md"}
    mine = "from A\n" if loser is a else "from B\n"
    # The loser's text is a copy now; opening the document does not move it back (the
    # conflict was already settled) ...
    fleet.sync_all()
    assert loser.read("x.md") == winner

    # ... but in a fresh race, the device with the document open keeps its text.
    a.write("x.md", "A again\n")
    b.write("x.md", "B again\n")
    a.sync()
    b.engine._reconcile(SyncReport(), True)
    b.engine._publish(SyncReport())
    fleet.sync_all(rounds=3)
    assert a.files() == b.files() == c.files()
    assert loser.read("x.md") == ("A again\n" if loser is a else "B again\n")
    assert mine in a.files().values()
    assert duplicate_conflict_copies(a) == []


def test_a_conflict_copy_edited_elsewhere_survives_the_take_back(
    dav: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a, b = _two_offline_edits(fleet)
    a.engine.in_use = {"story.md"}
    a.sync()
    b.sync()
    ((copy, _),) = _copies(b).items()
    b.write(copy, "laptop text\nnotes added to the copy on the desk\n")
    b.sync()
    a.sync()  # takes its text back; the copy now holds the desk's additions, not a twin
    fleet.sync_all()

    assert a.files() == b.files()
    assert a.read("story.md") == "laptop text\n"
    assert sorted(a.files().values()) == [
        "desk text\n",
        "laptop text\n",
        "laptop text\nnotes added to the copy on the desk\n",
    ]


def test_two_devices_taking_back_at_once_still_settle(dav: DavServer, fleet_factory) -> None:
    """Three devices edit offline; the two with the document open take their texts back in
    the same instant. One take-back wins by the usual rule, the other text is a copy, and
    nobody takes anything back again."""
    fleet: Fleet = fleet_factory(dav.url)
    a, b, c = fleet.add("A"), fleet.add("B"), fleet.add("C")
    a.write("x.md", "v0\n")
    fleet.sync_all()
    for device in (a, b, c):
        device.write("x.md", f"from {device.name}\n")
    a.engine.in_use = {"x.md"}
    c.engine.in_use = {"x.md"}
    a.sync()
    c.sync()
    b.sync()  # B syncs last: its text wins, A's and C's become copies
    a.engine._fetch(SyncReport())
    a.engine._reconcile(SyncReport(), True)  # A takes its text back ...
    assert a.read("x.md") == "from A\n"
    c.sync()  # ... and so does C, before A's take-back is on the server
    assert c.read("x.md") == "from C\n"
    a.engine._publish(SyncReport())
    fleet.sync_all(rounds=3)

    files = a.files()
    assert b.files() == c.files() == files
    assert sorted(files.values()) == ["from A\n", "from B\n", "from C\n"]
    assert files["x.md"] in ("from A\n", "from C\n")
    for device in (a, b, c):
        assert device.sync().published_seq is None
    assert newest_edit_missing([a, b, c]) == []


def test_renamed_on_the_other_device_the_renamed_document_wins(
    dav: DavServer, fleet_factory
) -> None:
    """The README's exception: a take-back keeps the name the document has everywhere."""
    fleet: Fleet = fleet_factory(dav.url)
    a, b = fleet.add("Laptop"), fleet.add("Desk")
    a.write("story.md", "base\n")
    fleet.sync_all()
    a.engine.in_use = {"story.md"}
    a.write("story.md", "laptop text\n")
    (b.library / "story.md").rename(b.library / "tale.md")
    a.sync()
    b.sync()
    fleet.sync_all()
    assert a.files() == b.files()
    assert a.read("tale.md") == "base\n"
    ((copy, text),) = _copies(a).items()
    assert copy.startswith("story (conflict from Laptop, ") and text == "laptop text\n"
