"""No conflict copy that repeats its document (issue 12, finding 2).

When a device cannot write a document's winning text this round (its download is cut short),
the document still shows the other text, so a conflict copy holding that same text must wait
until the document has changed; it must never sit next to it as a byte-identical twin.
"""

from __future__ import annotations

from tests.sync.dav_harness import DavServer, FaultProxy, Fleet
from tests.sync.sync_invariants import duplicate_conflict_copies


def test_cut_download_of_the_winner_leaves_no_identical_conflict_copy(
    wsgidav_server: DavServer, proxy: FaultProxy, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("Laptop", url=proxy.url)
    b = fleet.add("Desk", url=proxy.url)
    a.write("story.md", "base\n")
    fleet.sync_all()

    # The desk publishes first; the laptop edits offline and syncs second, so the laptop's
    # text wins and the desk's text becomes the copy "story (conflict from Desk, ...)".
    b.write("story.md", "desk text\n")
    b.sync()
    a.write("story.md", "laptop text\n")
    a.sync()
    (doc,) = a.engine.state.local_docs_at("story.md")
    blob = a.engine.state.revision(doc.rev_id).blob  # type: ignore[union-attr]
    assert blob is not None

    # On the desk, the download of the laptop's text is cut short, every time this round.
    proxy.set_policy(lambda method, path: "truncate_download" if blob in path else None)
    report = b.engine.sync_once()
    assert report.error is not None
    assert b.read("story.md") == "desk text\n"
    assert duplicate_conflict_copies(b) == []

    proxy.clear()
    fleet.sync_all()
    assert b.files() == a.files()
    assert sorted(b.files().values()) == ["desk text\n", "laptop text\n"]
    assert b.read("story.md") == "laptop text\n"
    assert duplicate_conflict_copies(a) == duplicate_conflict_copies(b) == []


def test_a_conflict_copy_whose_text_wins_after_a_delete_elsewhere_goes_away(
    wsgidav_server: DavServer, proxy: FaultProxy, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("Laptop", url=proxy.url)
    b = fleet.add("Desk", url=proxy.url)
    c = fleet.add("Tablet", url=proxy.url)
    a.write("story.md", "base\n")
    fleet.sync_all()

    def offline(device) -> None:
        proxy.set_policy(lambda method, path: "drop")
        device.sync(expect_ok=False)  # records the change on this disk, sends nothing
        proxy.clear()

    # The tablet edits offline; the desk edits twice meanwhile, so its text wins and the
    # tablet's becomes the copy "story (conflict from Tablet, ...)".
    c.write("story.md", "tablet text\n")
    offline(c)
    b.write("story.md", "desk 1\n")
    b.sync()
    b.write("story.md", "desk 2\n")
    b.sync()
    c.sync()
    assert c.read("story.md") == "desk 2\n"
    assert "tablet text\n" in c.files().values()

    # The desk, not having seen the tablet's text, deletes the document: an edit beats a
    # delete, so the tablet's text is the document again and its copy would be a twin.
    (b.library / "story.md").unlink()
    offline(b)
    for _ in range(2):
        for device in (b, c, a):
            device.sync()
            assert duplicate_conflict_copies(device) == [], device.name
    assert a.files() == b.files() == c.files() == {"story.md": "tablet text\n"}
