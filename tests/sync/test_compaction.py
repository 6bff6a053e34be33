"""Compaction against real WebDAV servers, with a clock the tests move on (no sleeping).

The short policy used here (every version for a day, then one a day until 3 days old, then
one a month) puts all three tiers into a simulated week or two.

The invariant for a device that was away: every version it had not seen when it left is,
when it is back, either still restorable there, or it was dropped for a version of the same
document saved later on the same day (or month) that is restorable there. And nothing it had
not read leaves the server while it is away (unless it is away longer than GONE_AFTER_DAYS).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from desktop.sync import compaction, errors, retention
from desktop.sync.retention import RetentionPolicy, bucket
from desktop.sync.state_db import Revision, StateDb
from tests.sync.dav_harness import Clock, DavServer, Device, Fleet, running_proxy
from tests.sync.sync_invariants import newest_edit_missing

POLICY = RetentionPolicy(keep_all_days=1, daily_days=3)


def _devices(fleet: Fleet, names: str, clock: Clock, url: str | None = None) -> list[Device]:
    devices = []
    for name in names:
        device = fleet.add(name, confirm_deletes=lambda paths: True, url=url)
        device.engine.clock = clock
        if device is fleet.devices[0]:
            device.engine.set_retention(POLICY)  # for the whole library, from its next round
        devices.append(device)
    return devices


def _append(device: Device, rel: str, line: str) -> None:
    path = device.library / rel
    path.write_text((path.read_text() if path.exists() else "") + line + "\n")


def _day(a: Device, b: Device, day: int, clock: Clock) -> None:
    """A saves one document twice (two versions that day), B saves its own once."""
    clock.advance(1)
    _append(a, f"a{day % 2}.md", f"day {day} morning")
    a.sync()
    clock.now += 3600
    _append(a, f"a{day % 2}.md", f"day {day} evening")
    a.sync()
    _append(b, "b.md", f"day {day}")
    b.sync()


def _blobs(root: Path) -> set[str]:
    return {p.name for p in (root / "blobs").iterdir()}


def _restorable(device: Device, rev: Revision) -> bool:
    """The version's text can be had back on this device (downloaded and decrypted)."""
    try:
        with device.engine._plaintext(rev, True) as chunks:
            return hashlib.sha256(b"".join(chunks)).hexdigest() == rev.sha256
    except errors.SyncError:
        return False


def _texts(device: Device) -> list[Revision]:
    state = device.engine.state
    dropped = state.dropped()
    return [
        r
        for r in state.all_revisions()
        if not r.deleted and r.blob is not None and r.rev_id not in dropped
    ]


def test_a_device_away_for_the_whole_retention_window_loses_nothing_it_had_not_seen(
    wsgidav_server: DavServer, fleet_factory
) -> None:
    root = wsgidav_server.root
    clock = Clock()
    fleet = fleet_factory(wsgidav_server.url)
    a, b, c = _devices(fleet, "ABC", clock)
    for rel in ("a0.md", "a1.md", "b.md"):
        a.write(rel, "first\n")
    fleet.sync_all()
    for day in range(4):  # all online: compaction starts and every device reports its reading
        _day(a, b, day, clock)
        c.sync()
    assert c.engine.state.get("compaction_seen") == "1"
    assert (root / "applied").exists() and list((root / "checkpoints").iterdir())
    seen = {r.rev_id for r in c.engine.state.all_revisions()}
    _append(c, "b.md", "C, offline")  # saved on C, synced only when it is back
    before = _blobs(root)
    checkpoints_before = {p.name for p in (root / "checkpoints").iterdir()}

    for day in range(4, 9):  # C is away 5 days: longer than the whole 3-day window
        _day(a, b, day, clock)
    assert {p.name for p in (root / "checkpoints").iterdir()} != checkpoints_before
    # A and B dropped versions C never saw, but none of those left the server yet.
    everything = {r.rev_id: r for r in a.engine.state.all_revisions()}
    dropped_unseen = [r for r in a.engine.state.dropped() if r not in seen and r in everything]
    assert dropped_unseen, "the others compacted nothing while C was away"
    on_server = _blobs(root)
    for rev_id in dropped_unseen:
        assert everything[rev_id].blob in on_server
    assert before - on_server <= {everything[r].blob for r in seen if r in everything}

    # C comes back.
    c.sync()
    c.sync()
    back = {r.rev_id: r for r in _texts(c)}
    now = clock()
    for rev in everything.values():
        if rev.rev_id in seen or rev.deleted or rev.blob is None:
            continue
        if rev.rev_id in back:
            assert _restorable(c, back[rev.rev_id]), rev
            continue
        later = [
            w
            for w in back.values()
            if w.doc_id == rev.doc_id
            and w.saved_at >= rev.saved_at
            and bucket(w.saved_at, now, POLICY) == bucket(rev.saved_at, now, POLICY)
        ]
        assert later and all(_restorable(c, w) for w in later), f"lost {rev.rev_id}"

    fleet.sync_all()
    assert a.files() == b.files() == c.files()
    assert "C, offline" in c.read("b.md") + "".join(c.files().values())
    assert newest_edit_missing([a, b, c]) == []

    # Now that C has read the announcements, the next compactions delete what they held back.
    for day in range(9, 11):
        _day(a, b, day, clock)
        c.sync()
    assert len(_blobs(root)) < len(on_server)
    for device in (a, b, c):
        for rev in _texts(device):
            assert _restorable(device, rev), f"{device.name} lists {rev.rev_id} without text"
    # History is restorable within the policy: every version of the last day, the newest
    # of each of the days before, one for the older part of the month.
    versions = c.engine.history("a0.md")
    days = {int(v.saved_at // Clock.DAY) for v in versions}
    assert len(versions) >= 4 and len(days) == len(versions) - 1
    oldest = c.engine.state.revision(versions[-1].rev_id)
    assert c.engine.restore(versions[-1].rev_id) == "a0.md"
    assert hashlib.sha256((c.library / "a0.md").read_bytes()).hexdigest() == oldest.sha256


def test_a_device_away_longer_than_the_limit_starts_again_from_the_checkpoint(
    wsgidav_server: DavServer, fleet_factory
) -> None:
    root = wsgidav_server.root
    clock = Clock()
    fleet = fleet_factory(wsgidav_server.url)
    a, b, c = _devices(fleet, "ABC", clock)
    a.write("a0.md", "first\n")
    a.write("b.md", "first\n")
    fleet.sync_all()
    for day in range(3):
        _day(a, b, day, clock)
        c.sync()
    _append(c, "c.md", "written on C before it went away")
    renamed_text = c.read("a0.md")
    (c.library / "a0.md").rename(c.library / "renamed on C.md")  # reuses a text soon dropped
    clock.advance(compaction.GONE_AFTER_DAYS + 5)
    for day in range(3, 6):
        _day(a, b, day, clock)
    result = compaction.compact(a.engine, force=True)
    assert result is not None and result.gone == ["C"]
    a_entries = sorted((root / "log" / a.engine.device_id).iterdir())
    assert int(a_entries[0].name) > c.engine.state.cursor(a.engine.device_id)[0] + 1

    report = c.sync()
    assert report.error is None
    c.sync()
    fleet.sync_all()
    assert a.files() == b.files() == c.files()
    assert c.read("c.md") == "written on C before it went away\n"
    assert renamed_text in a.files().values()
    for rev in _texts(c):
        assert _restorable(c, rev)


def test_a_crash_part_way_through_a_compaction_leaves_a_consistent_sync_folder(
    wsgidav_server: DavServer, fleet_factory, tmp_path: Path
) -> None:
    root = wsgidav_server.root
    clock = Clock()
    with running_proxy(wsgidav_server.url) as proxy:
        fleet = fleet_factory(wsgidav_server.url)
        a = _devices(fleet, "A", clock, url=proxy.url)[0]
        b = _devices(fleet, "B", clock)[0]
        a.write("a0.md", "first\n")
        a.write("b.md", "first\n")
        fleet.sync_all()
        for day in range(4):
            _day(a, b, day, clock)
        completed = False
        for joined, crash_after in enumerate((0, 3, 7, 12, 18, 25, 33, 45, 60, 80)):
            clock.advance(1)
            _append(a, "a0.md", f"before crash point {crash_after}")
            a.sync()
            count = 0

            def crash(method: str, path: str, limit: int = crash_after) -> str | None:
                nonlocal count
                count += 1
                return "drop" if count > limit else None

            proxy.set_policy(crash)
            try:
                completed = compaction.compact(a.engine, force=True) is not None
            except errors.SyncError:
                completed = False
            proxy.clear()
            # Consistent: every text any device lists is whole on the server, and a device
            # joining now ends with the same library.
            for device in (a, b):
                for rev in _texts(device):
                    blob = root / "blobs" / str(rev.blob)
                    assert blob.exists() and blob.stat().st_size == rev.blob_size
            b.sync()
            a.sync()
            fresh = fleet.add(f"N{joined}")
            fresh.engine.clock = clock
            fresh.sync()
            assert fresh.files() == a.files() == b.files()
            fleet.devices.remove(fresh)
            fresh.engine.close()
            if completed:
                break
        assert completed, "no compaction ran to its end"
        assert joined >= 5, "the compaction ended before most crash points were tried"


def test_one_device_compacts_at_a_time_and_at_most_once_a_day(
    wsgidav_server: DavServer, fleet_factory
) -> None:
    clock = Clock()
    fleet = fleet_factory(wsgidav_server.url)
    a, b = _devices(fleet, "AB", clock)
    a.write("a0.md", "first\n")
    a.write("b.md", "first\n")
    fleet.sync_all()
    for day in range(4):
        _day(a, b, day, clock)
    clock.advance(1)
    # A takes the lease and dies before finishing.
    assert compaction.take_lease(a.engine, clock())
    assert compaction.compact(b.engine) is None
    clock.now += compaction.LEASE_SECONDS + 60  # the lease expires
    done = compaction.compact(b.engine)
    assert done is not None and done.checkpoint is not None
    # Compacted today: neither device compacts again until tomorrow, unless asked to.
    assert compaction.compact(a.engine) is None
    assert compaction.compact(b.engine) is None
    assert compaction.compact(a.engine, force=True) is not None
    clock.advance(1)
    assert compaction.compact(b.engine) is not None


def test_the_policy_is_kept_in_the_sync_state_and_keep_everything_drops_nothing(
    wsgidav_server: DavServer, fleet_factory
) -> None:
    clock = Clock()
    fleet = fleet_factory(wsgidav_server.url)
    a, b = _devices(fleet, "AB", clock)
    a.engine.set_retention(RetentionPolicy(keep_all_days=7, daily_days=90, keep_everything=True))
    state = StateDb(a.engine.state.path)
    try:
        assert retention.load(state) == RetentionPolicy(7, 90, keep_everything=True)
    finally:
        state.close()
    a.write("a0.md", "first\n")
    a.write("b.md", "first\n")
    fleet.sync_all()
    # One library, one policy: the latest change reaches the other device.
    assert b.engine.retention_policy == a.engine.retention_policy
    for day in range(4):
        _day(a, b, day, clock)
    result = compaction.compact(a.engine, force=True)
    assert result is not None and result.dropped == 0 and result.checkpoint is not None
    assert not a.engine.state.dropped()


def test_a_compaction_entry_waits_until_the_logs_it_was_decided_on_are_read(
    wsgidav_server: DavServer, fleet_factory, tmp_path: Path
) -> None:
    root = wsgidav_server.root
    clock = Clock()
    fleet = fleet_factory(wsgidav_server.url)
    a, b, c = _devices(fleet, "ABC", clock)
    for device in (a, b, c):
        device.engine.state.set("compaction", "off")  # only when the test says
    a.write("a0.md", "first\n")
    a.write("b.md", "first\n")
    fleet.sync_all()
    for day in range(3):
        _day(a, b, day, clock)
    clock.advance(1)
    a.sync()  # A has read B's latest entries: its compaction is decided on them
    result = compaction.compact(a.engine, force=True)
    assert result is not None and result.dropped > 0
    # C cannot read B's latest entries yet (say the server lists them late).
    b_log = root / "log" / b.engine.device_id
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    b_seen_by_c = c.engine.state.cursor(b.engine.device_id)[0]
    for entry in sorted(b_log.iterdir()):
        if int(entry.name) > b_seen_by_c:
            entry.rename(hidden / entry.name)
    report = c.sync(expect_ok=False)
    assert any("waits for entries of other devices" in w for w in report.warnings), (
        report.error,
        report.warnings,
    )
    assert not c.engine.state.dropped()
    for entry in hidden.iterdir():
        entry.rename(b_log / entry.name)
    c.sync()
    assert set(c.engine.state.dropped()) == set(a.engine.state.dropped())
    fleet.sync_all()
    assert a.files() == b.files() == c.files()


def test_a_device_with_nothing_new_still_reports_weekly_so_it_is_never_taken_for_gone(
    wsgidav_server: DavServer, fleet_factory
) -> None:
    clock = Clock()
    fleet = fleet_factory(wsgidav_server.url)
    a, b = _devices(fleet, "AB", clock)
    a.write("a0.md", "first\n")
    fleet.sync_all()
    assert compaction.compact(a.engine, force=True) is not None
    b.sync()  # reads the compaction entry and reports at once
    reported = b.engine.state.get_int("applied_gen")
    assert reported >= 1
    clock.advance(1)
    b.sync()
    assert b.engine.state.get_int("applied_gen") == reported  # nothing new: no request
    for _ in range(30):  # some 200 days of rounds with nothing new
        clock.advance(7)
        b.sync()
    assert b.engine.state.get_int("applied_gen") > reported + 25
    result = compaction.compact(a.engine, force=True)
    assert result is not None and result.gone == [] and result.waiting_for == []
