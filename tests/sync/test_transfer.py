"""Blob transfers in parallel, resumable and stoppable (issue 12, "make it last").

Against the real WebDAV servers, through the fault-injecting proxy where a transfer is cut:
parallel rounds give the same libraries as one-at-a-time rounds; a first sync cut part-way
sends (or fetches) nothing again that was complete; stopping sync ends the round at once
and the next round resumes; a round with nothing new does no work per document.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from desktop.sync import errors
from desktop.sync.remote_store import STOPPED
from tests.sync.dav_harness import DavServer, Device, FaultProxy, Fleet

DOCS = 40


def _library(device: Device, count: int = DOCS) -> dict[str, str]:
    texts = {}
    for i in range(count):
        rel = f"part {i % 4}/chapter {i}.md"
        texts[rel] = f"# Chapter {i}\n\n" + f"line {i} " * (50 + i * 7)
        device.write(rel, texts[rel])
    return texts


def _blobs_on_server(server: DavServer) -> set[str]:
    return {p.name for p in (server.root / "blobs").iterdir()}


def _log_entries(server: DavServer) -> list[Path]:
    return [p for p in (server.root / "log").rglob("*") if p.is_file()]


def _concurrency_probe(proxy: FaultProxy) -> list[int]:
    """Holds each blob request briefly and records how many were in flight at once."""
    lock = threading.Lock()
    in_flight = [0]
    peaks: list[int] = []

    def policy(method: str, path: str) -> None:
        if "/blobs/" not in path and not path.startswith("/tmp/"):
            return None
        with lock:
            in_flight[0] += 1
            peaks.append(in_flight[0])
        time.sleep(0.02)
        with lock:
            in_flight[0] -= 1
        return None

    proxy.set_policy(policy)
    return peaks


def test_parallel_transfers_give_the_same_library_as_one_at_a_time(
    dav: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(dav.url)
    a = fleet.add("A")
    parallel = fleet.add("Parallel")
    serial = fleet.add("Serial")
    serial.engine.transfers.connections = 1
    texts = _library(a)
    a.sync()
    assert len(_blobs_on_server(dav)) == DOCS
    parallel.sync()
    serial.sync()
    assert a.files() == parallel.files() == serial.files() == texts
    # And back: edits made on the parallel device reach the others the same way.
    for i in range(0, DOCS, 3):
        parallel.write(f"part {i % 4}/chapter {i}.md", f"edited {i}\n")
    fleet.sync_all()
    assert a.files() == parallel.files() == serial.files()
    assert parallel.read("part 0/chapter 0.md") == "edited 0\n"


def test_uploads_and_downloads_run_several_at_a_time(
    wsgidav_server: DavServer, proxy: FaultProxy, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A", url=proxy.url)
    b = fleet.add("B", url=proxy.url)
    texts = _library(a, 24)
    peaks = _concurrency_probe(proxy)
    a.sync()
    assert max(peaks) > 1, "uploads went one at a time"
    assert max(peaks) <= a.engine.transfers.connections
    peaks.clear()
    b.sync()
    assert max(peaks) > 1, "downloads went one at a time"
    assert max(peaks) <= b.engine.transfers.connections
    assert b.files() == texts


def test_cut_first_upload_resumes_without_sending_a_blob_twice(
    wsgidav_server: DavServer, proxy: FaultProxy, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A", url=proxy.url)
    b = fleet.add("B")
    texts = _library(a)
    # The connection dies after 20 blobs are in place: every request from then on fails.
    moved = [0]
    lock = threading.Lock()

    def cut(method: str, path: str) -> str | None:
        with lock:
            if moved[0] >= 20:
                return "drop"
            if method == "MOVE" and path.startswith("/tmp/"):
                moved[0] += 1
        return None

    proxy.set_policy(cut)
    report = a.sync(expect_ok=False)
    assert report.error is not None and "could not be reached" in report.error
    sent = _blobs_on_server(wsgidav_server)
    assert 20 <= len(sent) < DOCS
    # No log entry names blobs that are not there: the other device sees nothing yet.
    assert _log_entries(wsgidav_server) == []
    assert b.sync().error is None and b.files() == {}

    proxy.clear()
    proxy.log.clear()
    a.sync()
    puts = [p for m, p, _ in proxy.log if m == "PUT" and p.startswith("/tmp/")]
    # Each blob not yet there once, plus the log entry that commits them all.
    assert len(puts) == DOCS - len(sent) + 1, "a blob already on the server was sent again"
    # Which blobs made it is found with one listing, not one question per blob.
    assert [p for m, p, _ in proxy.log if m == "PROPFIND" and "/blobs/" in p] == ["/blobs/"]
    assert len(_blobs_on_server(wsgidav_server)) == DOCS
    b.sync()
    assert a.files() == b.files() == texts


def test_cut_first_download_resumes_without_fetching_a_blob_twice(
    wsgidav_server: DavServer, proxy: FaultProxy, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A")
    b = fleet.add("B", url=proxy.url)
    texts = _library(a)
    a.sync()
    got = [0]
    lock = threading.Lock()

    def cut(method: str, path: str) -> str | None:
        with lock:
            if method == "GET" and path.startswith("/blobs/"):
                got[0] += 1
                if got[0] > 25:
                    return "drop"
        return None

    proxy.set_policy(cut)
    report = b.sync(expect_ok=False)
    assert report.error is not None
    assert not any(w in report.error for w in ("integrity", "tamper", "swapped", "damaged"))
    # Nothing half-written: every document on disk is whole, no temp files are left.
    for rel, text in b.files().items():
        assert texts[rel] == text
    assert not [p for p in b.library.rglob("*") if p.name.endswith(".tmp")]
    fetched = {p for m, p, f in proxy.log if m == "GET" and p.startswith("/blobs/") and not f}
    assert len(fetched) == 25
    # Each verified download was either written or is kept for the next round.
    kept = list((b.engine.staging / "incoming").iterdir())
    assert len(b.files()) + len(kept) == 25

    proxy.clear()
    proxy.log.clear()
    b.sync()
    again = [p for m, p, _ in proxy.log if m == "GET" and p.startswith("/blobs/")]
    assert not fetched & set(again), "a verified download was fetched again"
    assert len(again) == DOCS - 25
    assert b.files() == texts
    assert not list((b.engine.staging / "incoming").iterdir())


def test_stopping_sync_ends_the_round_and_the_next_round_resumes(
    wsgidav_server: DavServer, proxy: FaultProxy, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A", url=proxy.url)
    b = fleet.add("B")
    texts = _library(a)
    puts = [0]

    def stop_after_ten(method: str, path: str) -> None:
        if method == "PUT" and path.startswith("/tmp/"):
            puts[0] += 1
            if puts[0] == 10:
                a.engine.stop()  # the writer turns sync off (from the GUI thread)
        return None

    proxy.set_policy(stop_after_ten)
    report = a.sync(expect_ok=False)
    assert report.error == STOPPED
    assert puts[0] < 10 + a.engine.transfers.connections  # nothing new started after stop
    assert _log_entries(wsgidav_server) == []
    sent = _blobs_on_server(wsgidav_server)

    proxy.clear()
    proxy.log.clear()
    a.sync()
    resent = [p for m, p, _ in proxy.log if m == "PUT" and p.startswith("/tmp/")]
    assert len(resent) == DOCS - len(sent) + 1  # the missing blobs and the log entry
    b.sync()
    assert b.files() == texts


def _statements(device: Device) -> int:
    count = [0]
    device.engine.state._db.set_trace_callback(lambda _sql: count.__setitem__(0, count[0] + 1))
    device.sync()
    device.engine.state._db.set_trace_callback(None)
    return count[0]


def test_a_quiet_round_does_no_work_per_document(wsgidav_server: DavServer, fleet_factory) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A")
    b = fleet.add("B")
    _library(a, 10)
    fleet.sync_all()
    small = (_statements(a), _statements(b))
    _library(a, 120)
    fleet.sync_all()
    large = (_statements(a), _statements(b))
    assert large == small, "a round with nothing new queried each document"


def test_stop_cuts_a_large_transfer_under_way_and_leaves_nothing_half_done(
    wsgidav_server: DavServer, fleet_factory, tmp_path: Path
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    store = fleet.add("A").engine.store
    body = os.urandom(3 * 1024 * 1024)
    digest = hashlib.sha256(body).hexdigest()
    local = tmp_path / "blob"
    local.write_bytes(body)
    stop = threading.Event()
    stop.set()
    with pytest.raises(errors.SyncStopped):
        store.put_blob(local, digest, len(body), maybe_there=False, stop=stop)
    assert digest not in _blobs_on_server(wsgidav_server)
    store.put_blob(local, digest, len(body), maybe_there=False)
    assert (wsgidav_server.root / "blobs" / digest).read_bytes() == body

    sink = tmp_path / "download"
    with pytest.raises(errors.SyncStopped):
        store.fetch_blob(digest, sink, len(body), stop=stop)
    assert sink.stat().st_size < len(body)  # cut; the caller never moves it into place
    store.fetch_blob(digest, sink, len(body))
    assert sink.read_bytes() == body
