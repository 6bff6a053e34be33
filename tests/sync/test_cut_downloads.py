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


def test_cut_blob_download_without_length_is_reported_as_network_and_recovers(
    wsgidav_server: DavServer, proxy: FaultProxy, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A")
    b = fleet.add("B", url=proxy.url)
    a.write("story.md", "words " * 2000)
    a.sync()
    proxy.set_policy(_cut_always(lambda path: "/blobs/" in path))
    report = b.sync(expect_ok=False)
    assert report.error is not None and "cut short" in report.error
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
