"""Randomized rounds (fixed seeds): several devices edit, create, rename and delete while a
proxy between them and the server drops, truncates, delays and fails requests.

After every round: every version a device's sync ever saw still exists (on some disk, in a
device's staging area, or as an intact blob on the server). Once faults stop, all devices
converge to the same library, even with documents open (which take their text back after a
conflict), and a few more rounds publish nothing: no device takes a document back forever."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import secrets
import sqlite3
import time
from pathlib import Path

import pytest

from desktop.sync import compaction, errors
from desktop.sync.retention import RetentionPolicy
from tests.sync.dav_harness import Clock, DavServer, Device, FaultProxy, Fleet, running_proxy
from tests.sync.sync_invariants import duplicate_conflict_copies, newest_edit_missing

FAULTS = [
    "drop",
    "drop_after",
    "truncate_upload",
    "truncate_download",
    "truncate_unsized",
    "status:500",
    "status:503",
    "status:507",
    "status:423",
    "delay",
]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _retrievable(devices: list[Device], server_root: Path) -> set[str]:
    """sha256 of every text that can still be had back: on a disk, staged, or on the server."""
    found: set[str] = set()
    for device in devices:
        for path in device.library.rglob("*.md"):
            found.add(_sha(path.read_bytes()))
        db = sqlite3.connect(str(device.engine.state.path))
        rows = db.execute(
            "SELECT sha256, blob, blob_size, blob_rev, published FROM revisions WHERE deleted=0"
        ).fetchall()
        db.close()
        for sha, blob, blob_size, blob_rev, published in rows:
            staged = device.engine.staging / f"{blob_rev}.blob"
            on_server = server_root / "blobs" / blob
            if (on_server.exists() and on_server.stat().st_size == blob_size) or (
                not published and staged.exists()
            ):
                found.add(sha)
    return found


def _superseded(devices: list[Device], server_root: Path) -> set[str]:
    """sha256 of texts a compaction dropped for a later version of the same document saved
    the same day or month, where that later version can still be had back."""
    revisions, dropped = {}, set()
    for device in devices:
        state = device.engine.state
        dropped |= set(state.dropped())
        revisions.update({r.rev_id: r for r in state.all_revisions()})

    def whole(rev) -> bool:  # type: ignore[no-untyped-def]
        blob = server_root / "blobs" / str(rev.blob)
        return blob.exists() and blob.stat().st_size == rev.blob_size

    def month(saved_at: float) -> tuple[int, int]:
        return time.gmtime(saved_at)[:2]

    live = [r for r in revisions.values() if r.blob and r.rev_id not in dropped and whole(r)]
    return {
        rev.sha256
        for rev_id in dropped
        if (rev := revisions.get(rev_id)) is not None and rev.blob
        and any(
            w.doc_id == rev.doc_id
            and w.saved_at >= rev.saved_at
            and month(w.saved_at) == month(rev.saved_at)
            for w in live
        )
    }  # fmt: skip


def _act(rng: random.Random, device: Device, tag: str) -> None:
    # One small pool of names, so a name a rename frees is soon taken by a new document
    # while another device still has the old one there.
    docs = sorted(p for p in device.library.glob("*.md"))
    roll = rng.random()
    if not docs or roll < 0.3:
        device.write(f"doc {rng.randrange(6)}.md", f"{tag} created\n")
    elif roll < 0.7:
        target = rng.choice(docs)
        target.write_text(target.read_text() + f"{tag} edited\n")
    elif roll < 0.8:
        rng.choice(docs).unlink()
    else:
        source = rng.choice(docs)
        target = device.library / f"doc {rng.randrange(6)}.md"
        if not target.exists():
            source.rename(target)


# Soak runs: DRAFTSMITH_SYNC_SEEDS=1,2,3,... and DRAFTSMITH_SYNC_RCLONE_SEEDS=...
SEEDS = [int(s) for s in os.environ.get("DRAFTSMITH_SYNC_SEEDS", "11,5,6").split(",")]
ROUNDS = int(os.environ.get("DRAFTSMITH_SYNC_ROUNDS", "14"))
RCLONE_SEEDS = [int(s) for s in os.environ.get("DRAFTSMITH_SYNC_RCLONE_SEEDS", "5").split(",")]


@pytest.mark.parametrize(
    ("server", "seed"),
    [("wsgidav", seed) for seed in SEEDS] + [("rclone", seed) for seed in RCLONE_SEEDS],
)
def test_random_rounds_with_faults_lose_nothing_and_converge(
    server: str,
    seed: int,
    request: pytest.FixtureRequest,
    fleet_factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dav: DavServer = request.getfixturevalue(f"{server}_server")
    # Document, revision and device ids decide which document keeps a contested name:
    # draw them from the seed too, so a seed replays the same run.
    id_rng = random.Random(seed * 104729)
    monkeypatch.setattr(secrets, "token_hex", lambda n=32: id_rng.randbytes(n).hex())
    with running_proxy(dav.url) as proxy:
        _rounds(seed, dav, proxy, fleet_factory(dav.url))


COMPACT_SEEDS = [
    int(s) for s in os.environ.get("DRAFTSMITH_SYNC_COMPACT_SEEDS", "3,8,13").split(",")
]


@pytest.mark.parametrize("seed", COMPACT_SEEDS)
def test_random_rounds_with_faults_and_compaction_lose_nothing_and_converge(
    seed: int, wsgidav_server: DavServer, fleet_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same, while the clock moves 8 hours a round, a short retention policy drops old
    versions and devices compact (through the faulty proxy) now and then. A saved text may
    go only for a later version of its document from the same day or month; at the end a new
    device starts from the checkpoint and ends with the same library."""
    id_rng = random.Random(seed * 104729)
    monkeypatch.setattr(secrets, "token_hex", lambda n=32: id_rng.randbytes(n).hex())
    with running_proxy(wsgidav_server.url) as proxy:
        fleet = fleet_factory(wsgidav_server.url)
        _rounds(seed, wsgidav_server, proxy, fleet, compact=True)
        newcomer = fleet.add("New", url=proxy.url)
        newcomer.sync()
        assert newcomer.files() == fleet.devices[0].files()


def _rounds(
    seed: int, dav: DavServer, proxy: FaultProxy, fleet: Fleet, compact: bool = False
) -> None:
    rng = random.Random(seed)
    compact_rng = random.Random(seed * 53)
    clock = Clock()
    fault_rng = random.Random(seed * 7919)
    # Which documents are open in each device's editor: its own stream, so the actions of
    # a seed stay as they were. Open documents take their text back after a conflict.
    open_rng = random.Random(seed * 31)
    devices = [fleet.add(name, confirm_deletes=lambda paths: True, url=proxy.url) for name in "ABC"]
    # A seed replays the same run only if requests go one at a time: parallel transfers
    # would draw ids (tmp names) and the proxy's faults in whatever order threads run.
    # test_transfer covers parallel transfers cut short, stopped and resumed.
    for device in devices:
        device.engine.transfers.connections = 1
    if compact:
        for device in devices:
            device.engine.clock = clock
        devices[0].engine.set_retention(RetentionPolicy(keep_all_days=1, daily_days=2))
    saved: set[str] = set()
    failures = 0

    def faulty(method: str, path: str) -> str | None:
        return fault_rng.choice(FAULTS) if fault_rng.random() < 0.12 else None

    for round_no in range(ROUNDS):
        proxy.set_policy(faulty)
        for device in devices:
            if rng.random() < 0.8:
                for k in range(rng.randrange(1, 4)):
                    _act(rng, device, f"{device.name}/{round_no}/{k}/{rng.random():.6f}")
            if rng.random() < 0.3:
                continue  # offline this round: its edits wait, others' changes pile up
            names = sorted(p.name for p in device.library.glob("*.md"))
            device.engine.in_use = {n for n in names if open_rng.random() < 0.4}
            # What this sync is about to see counts as saved.
            saved |= {_sha(p.read_bytes()) for p in device.library.rglob("*.md")}
            report = device.engine.sync_once()
            failures += report.error is not None
            twins = duplicate_conflict_copies(device)
            assert not twins, f"round {round_no}: {twins}"
        if compact:
            clock.advance(1 / 3)
            # Compacting takes some 50 requests: fewer of them fail, so some runs finish.
            proxy.set_policy(lambda m, p: faulty(m, p) if compact_rng.random() < 0.25 else None)
            # Devices also compact on their own, in clean rounds, once a day.
            ready = [d for d in devices if not d.engine.state.unpublished()]
            with contextlib.suppress(errors.SyncError):
                if ready:
                    compaction.compact(compact_rng.choice(ready).engine, force=True)
        lost = saved - _retrievable(devices, dav.root)
        if compact:
            lost -= _superseded(devices, dav.root)
        assert not lost, f"round {round_no}: {len(lost)} saved versions are gone"

    proxy.clear()
    for _ in range(3):
        for device in devices:
            device.sync()
    first = devices[0].files()
    for device in devices[1:]:
        assert device.files() == first
    for device in devices:  # settled: documents still open, nothing more to publish
        assert device.sync().published_seq is None, f"{device.name} keeps publishing"
    assert newest_edit_missing(devices) == []
    assert [p for d in devices for p in duplicate_conflict_copies(d)] == []
    kept = _retrievable(devices, dav.root) | (_superseded(devices, dav.root) if compact else set())
    assert saved <= kept
    if compact:
        dropped = [len(d.engine.state.dropped()) for d in devices]
        assert any(dropped), "no compaction dropped a version"
    assert failures > 0, "the proxy injected no failure that reached a sync"
    assert not any((dav.root / "log").rglob("*.part"))
    for device in devices:
        assert not list(device.library.rglob("*.sync.tmp")), "a sync temp file was left behind"
