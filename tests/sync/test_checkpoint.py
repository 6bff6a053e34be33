"""Checkpoints against real WebDAV servers: a new device starts from the newest one instead
of replaying every log, and a checkpoint that was tampered with, replayed under a newer name,
or rolled back to an older one is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.sync import checkpoint, compaction
from desktop.sync.state_db import LocalDoc, Revision, StateDb
from tests.sync.dav_harness import Clock, DavServer, Device, Fleet, running_proxy


def _fleet(fleet: Fleet, clock: Clock) -> tuple[Device, Device]:
    a, b = fleet.add("A"), fleet.add("B")
    for device in (a, b):
        device.engine.clock = clock
    for n in range(3):
        a.write(f"doc {n}.md", f"doc {n}\n")
    fleet.sync_all()
    return a, b


def _edits(a: Device, clock: Clock, rounds: int) -> None:
    for n in range(rounds):
        clock.now += 3600
        path = a.library / f"doc {n % 3}.md"
        path.write_text(path.read_text() + f"edit {n}\n")
        a.sync()


def _compact(a: Device, b: Device, clock: Clock) -> int:
    """B reports how far it read, A compacts, B reads the announcement; next day."""
    b.sync()
    result = compaction.compact(a.engine, force=True)
    assert result is not None and result.checkpoint is not None
    b.sync()
    clock.advance(1)
    return result.checkpoint


def _gets(proxy_log: list[tuple[str, str, object]], prefix: str = "") -> int:
    return sum(1 for method, path, _ in proxy_log if method == "GET" and prefix in path)


def test_a_new_device_starts_from_the_checkpoint_and_reads_far_fewer_files(
    dav: DavServer, fleet_factory
) -> None:
    clock = Clock()
    fleet = fleet_factory(dav.url)
    a, b = _fleet(fleet, clock)
    _edits(a, clock, 30)
    b.sync()
    with running_proxy(dav.url) as proxy:
        before = fleet.add("Before", url=proxy.url)
        before.engine.clock = clock
        before.sync()
        read_before = list(proxy.log)
        _compact(a, b, clock)
        before.sync()
        _compact(a, b, clock)  # deletes the log entries every device has read
        proxy.log.clear()
        new = fleet.add("New", url=proxy.url)
        new.engine.clock = clock
        new.sync()
        read_after = list(proxy.log)
    assert _gets(read_before, "/log/") >= 30
    assert _gets(read_after, "/log/") <= 3
    assert _gets(read_after, "/checkpoints/") == 1
    assert 3 * _gets(read_after) < _gets(read_before)
    fleet.sync_all()
    assert new.files() == a.files() == b.files() == before.files()
    for rel in a.files():
        assert [v.rev_id for v in new.engine.history(rel)] == [
            v.rev_id for v in a.engine.history(rel)
        ]


def _new_device_refused(fleet: Fleet, name: str, clock: Clock, words: str) -> None:
    device = fleet.add(name)
    device.engine.clock = clock
    report = device.sync(expect_ok=False)
    assert report.error is not None and words in report.error, report.error
    assert device.files() == {}


@pytest.fixture
def three_checkpoints(wsgidav_server: DavServer, fleet_factory) -> tuple:
    clock = Clock()
    fleet = fleet_factory(wsgidav_server.url)
    a, b = _fleet(fleet, clock)
    _edits(a, clock, 6)
    first = _compact(a, b, clock)
    first_bytes = (wsgidav_server.root / checkpoint.path(first)).read_bytes()
    _edits(a, clock, 4)
    _compact(a, b, clock)
    _edits(a, clock, 4)
    third = _compact(a, b, clock)
    return fleet, clock, a, b, first, first_bytes, third


def test_a_tampered_or_replayed_checkpoint_is_refused(
    wsgidav_server: DavServer, three_checkpoints: tuple
) -> None:
    fleet, clock, a, b, first, first_bytes, third = three_checkpoints
    root: Path = wsgidav_server.root
    newest = root / checkpoint.path(third)
    assert sorted(p.name for p in (root / "checkpoints").iterdir()) == [newest.name]
    good = newest.read_bytes()

    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 1
    newest.write_bytes(bytes(damaged))
    _new_device_refused(fleet, "N1", clock, "failed its integrity check")

    newest.write_bytes(first_bytes)  # the old checkpoint under the newest name
    _new_device_refused(fleet, "N2", clock, "failed its integrity check")

    # Rolled back: the newest is gone and the old one is back under its own name. The log
    # entries after it were pruned, so a new device cannot start from it...
    newest.unlink()
    (root / checkpoint.path(first)).write_bytes(first_bytes)
    _new_device_refused(fleet, "N3", clock, "does not reach")
    # ... and a device that saw a newer one never goes back to it.
    b.engine.state.set_cursor(a.engine.device_id, 0, "")  # as if away while A's log was pruned
    report = b.sync(expect_ok=False)
    assert report.error is not None and "older than one this device has seen" in report.error

    (root / checkpoint.path(first)).unlink()
    newest.write_bytes(good)
    fresh = fleet.add("N4")
    fresh.engine.clock = clock
    fresh.sync()
    b.sync()
    fleet.sync_all()
    assert fresh.files() == a.files() == b.files()
    assert a.read("doc 0.md").count("edit") > 2


def _rev(rev_id: str, doc: str, blob: str, saved: float = 1.0) -> Revision:
    return Revision.edit(
        rev_id=rev_id, doc_id=doc, parents=[], lamport=1, device="other", path=f"{doc}.md",
        blob=blob, blob_size=10, sha256="s" + rev_id, size=4, saved_at=saved,
    )  # fmt: skip


def test_unsent_revisions_reusing_a_text_compaction_removed_are_recorded_again(
    tmp_path: Path,
) -> None:
    """A device back after the 180-day limit may hold an unsent conflict copy of a text the
    checkpoint no longer has: it must not publish a reference to a deleted blob; its file is
    recorded again (with its own stored text) by the next round instead."""
    state = StateDb(tmp_path / "state.sqlite")
    try:
        kept, removed = _rev("r1", "d1", "b1"), _rev("r0", "d0", "b0")
        state.add_revision(kept, published=True)
        state.add_revision(removed, published=True)
        copy = Revision.reusing(
            removed, rev_id="c1", doc_id="cdoc", parents=[], path="d0 (copy).md", lamport=5,
            device="me",
        )  # fmt: skip
        own_edit = _rev("r2", "d2", "b2")
        state.add_revision(copy, published=False)
        state.add_revision(own_edit, published=False)
        state.set_local_doc(LocalDoc("cdoc", "d0 (copy).md", "c1", "sr0", 4, 1))
        state.set_local_doc(LocalDoc("d2", "d2.md", "r2", "sr2", 4, 1))
        start = checkpoint.Checkpoint(
            number=3, made_at=2.0, made_by="other", covers={"other": (7, "h")}, pruned={},
            lamport=9, revisions=[kept],
        )  # fmt: skip
        checkpoint.load_into(state, start, "me", b"k" * 32, "remote")
        assert state.revision("c1") is None and state.local_doc("cdoc") is None
        assert state.revision("r0") is None
        assert state.revision("r1") is not None and state.revision("r2") is not None
        assert state.local_doc("d2") is not None
        assert state.cursor("other") == (7, "h") and state.get_int(checkpoint.SEEN) == 3
    finally:
        state.close()
