"""A download cut short is a network failure, not tampering (issue 12, finding 3).

Without Content-Length a cut body looks complete to HTTP; the engine tells it from damage on
the server by the size it expects and by downloading again."""

from __future__ import annotations

import shutil

import pytest

from tests.sync.dav_harness import DavServer, FaultProxy, Fleet

TAMPER_WORDS = ("integrity", "swapped", "replayed", "damaged")


def _cut_once(predicate):
    cut: set[str] = set()

    def policy(method: str, path: str) -> str | None:
        if method == "GET" and predicate(path) and path not in cut:
            cut.add(path)
            return "truncate_unsized"
        return None

    return policy


def _cut_always(predicate):
    return lambda method, path: "truncate_unsized" if method == "GET" and predicate(path) else None


def test_cut_blob_download_without_length_is_not_tampering(
    wsgidav_server: DavServer, proxy: FaultProxy, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A")
    b = fleet.add("B", url=proxy.url)
    a.write("story.md", "words " * 2000)
    a.sync()
    # The first download of the blob ends early with no Content-Length to tell: the engine
    # notices it is short and downloads it again, in the same round.
    proxy.set_policy(_cut_once(lambda path: "/blobs/" in path))
    report = b.sync(expect_ok=False)
    assert report.error is None, report.error
    assert b.read("story.md") == "words " * 2000
    assert [m for m, p, f in proxy.log if f and "/blobs/" in p] == ["GET"]


def test_blob_cut_differently_twice_is_a_network_problem(
    wsgidav_server: DavServer, proxy: FaultProxy, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A")
    b = fleet.add("B", url=proxy.url)
    a.write("story.md", "words " * 2000)
    a.sync()
    faults = iter(["truncate_unsized", "truncate_unsized:0.25"])
    proxy.set_policy(lambda m, p: next(faults, None) if "/blobs/" in p else None)
    report = b.sync(expect_ok=False)
    assert report.error is not None and "cut short" in report.error, report.error
    assert "network" in report.error
    assert not any(word in report.error for word in TAMPER_WORDS), report.error
    assert b.files() == {}
    proxy.clear()
    b.sync()
    assert b.read("story.md") == "words " * 2000


def test_cut_log_entry_without_length_is_reported_as_network_and_recovers(
    wsgidav_server: DavServer, proxy: FaultProxy, fleet_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A")
    b = fleet.add("B", url=proxy.url)
    a.write("story.md", "once upon a time\n")
    a.sync()
    proxy.set_policy(_cut_always(lambda path: "/log/" in path))
    report = b.sync(expect_ok=False)
    assert report.error is not None and "cut short" in report.error
    assert not any(word in report.error for word in TAMPER_WORDS), report.error
    # A server that lists no sizes: the entry is fetched again, and a whole copy is used.
    proxy.set_policy(_cut_once(lambda path: "/log/" in path))
    listed = b.engine.store.log_sizes
    monkeypatch.setattr(b.engine.store, "log_sizes", lambda device: dict.fromkeys(listed(device)))
    b.sync()
    assert b.read("story.md") == "once upon a time\n"


def test_the_same_bad_bytes_twice_are_still_tampering(
    wsgidav_server: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a, b = fleet.add("A"), fleet.add("B")
    a.write("x.md", "first\n")
    a.sync()
    a.write("x.md", "second\n")
    a.sync()
    entries = sorted((wsgidav_server.root / "log" / a.engine.device_id).iterdir())
    shutil.copy(entries[0], entries[1])
    report = b.sync(expect_ok=False)
    assert "integrity" in (report.error or "")


def test_a_blob_truncated_on_the_server_is_damage_not_network(
    wsgidav_server: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a, b = fleet.add("A"), fleet.add("B")
    a.write("story.md", "words " * 2000)
    a.sync()
    (blob,) = (wsgidav_server.root / "blobs").iterdir()
    blob.write_bytes(blob.read_bytes()[:1000])
    report = b.sync(expect_ok=False)
    assert "incomplete on the server" in (report.error or ""), report.error
    assert b.files() == {}
