"""Many deletions at once ask first; 'keep' brings the documents back on every device."""

from __future__ import annotations

import shutil

from tests.sync.dav_harness import DavServer, Fleet


def _library_of(fleet: Fleet, count: int) -> None:
    a = fleet.devices[0]
    for i in range(count):
        a.write(f"chapter {i:02d}.md", f"chapter {i}\n")
    fleet.sync_all()


def test_remote_mass_delete_asks_and_keep_restores_everywhere(
    wsgidav_server: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    asked: list[list[str]] = []
    a = fleet.add("A", confirm_deletes=lambda paths: True)  # the writer deleted them on purpose
    b = fleet.add("B", confirm_deletes=lambda paths: asked.append(paths) or False)
    _library_of(fleet, 12)
    for i in range(11):
        (a.library / f"chapter {i:02d}.md").unlink()
    a.write("chapter 11.md", "chapter 11, edited\n")
    a.sync()
    report = b.sync()
    assert len(asked) == 1 and len(asked[0]) == 11
    assert len(report.kept) == 11 and report.deleted == []
    assert len(b.files()) == 12
    assert b.read("chapter 11.md") == "chapter 11, edited\n"
    a.sync()
    assert a.files() == b.files()  # kept documents came back on the device that deleted them


def test_remote_mass_delete_confirmed(wsgidav_server: DavServer, fleet_factory) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A", confirm_deletes=lambda paths: True)
    b = fleet.add("B", confirm_deletes=lambda paths: True)
    _library_of(fleet, 12)
    for i in range(11):
        (a.library / f"chapter {i:02d}.md").unlink()
    a.sync()
    report = b.sync()
    assert len(report.deleted) == 11
    assert list(b.files()) == ["chapter 11.md"]
    # Deleted documents stay in the remote's history and can be restored.
    versions = b.engine.history("chapter 03.md")
    assert [v.deleted for v in versions] == [True, False]
    assert [v.path for v in b.engine.deleted_documents()].count("chapter 03.md") == 1
    restored = b.engine.restore(versions[1].rev_id)
    assert b.read(restored) == "chapter 3\n"
    b.sync()
    a.sync()  # the document comes back as itself on the device that deleted it
    assert a.read("chapter 03.md") == "chapter 3\n"
    assert "chapter 03.md" not in [v.path for v in b.engine.deleted_documents()]
    assert len(b.engine.deleted_documents()) == 10


def test_without_a_question_deletions_wait(wsgidav_server: DavServer, fleet_factory) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A", confirm_deletes=lambda paths: True)
    b = fleet.add("B")  # B has no way to ask
    _library_of(fleet, 8)
    # A small delete goes through without asking.
    (a.library / "chapter 07.md").unlink()
    a.sync()
    assert b.sync().deleted == ["chapter 07.md"]
    for i in range(3):  # 3 of 7 is more than 25%
        (a.library / f"chapter {i:02d}.md").unlink()
    a.sync()
    report = b.sync()
    assert len(report.deletions_waiting) == 3 and report.deleted == []
    assert len(b.files()) == 7
    assert len(b.sync().deletions_waiting) == 3  # still waiting, still asking


def test_emptied_local_folder_asks_before_deleting_remotely(
    wsgidav_server: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A", confirm_deletes=lambda paths: False)
    b = fleet.add("B")
    _library_of(fleet, 6)
    shutil.rmtree(a.library)
    a.library.mkdir()  # an empty folder where the library was (e.g. a fresh mount point)
    report = a.sync()
    assert len(report.kept) == 6
    assert len(a.files()) == 6  # restored from the remote
    b.sync()
    assert len(b.files()) == 6
