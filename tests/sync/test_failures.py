"""Failure paths: dropped uploads, lost answers, bad servers, tampering, wrong keys."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import keyring
import pytest

from desktop.sync import Connection, SyncReport, errors, join_remote
from desktop.sync.engine import SyncEngine
from tests.sync.dav_harness import PASSPHRASE, PASSWORD, USER, DavServer, FaultProxy, Fleet


def _server_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# --- keys ------------------------------------------------------------------------------


def test_wrong_passphrase_touches_nothing(
    wsgidav_server: DavServer, fleet_factory, tmp_path: Path
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    fleet.add("A").write("a.md", "text\n")
    fleet.sync_all()
    before = _server_files(wsgidav_server.root)
    library = tmp_path / "lib-b"
    library.mkdir()
    (library / "mine.md").write_text("mine\n")
    state = tmp_path / "state-b" / "sync.sqlite"
    with pytest.raises(errors.WrongPassphrase, match="does not open"):
        join_remote(
            Connection(wsgidav_server.url, USER, PASSWORD),
            state,
            library,
            passphrase="not the passphrase",
            client=wsgidav_server.client(),
        )
    assert not state.exists()
    assert keyring.get_credential("Draftsmith Sync", None) is None
    assert _server_files(wsgidav_server.root) == before
    assert [p.name for p in library.iterdir()] == ["mine.md"]


def test_join_with_recovery_key(wsgidav_server: DavServer, fleet_factory, tmp_path: Path) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A")
    a.write("a.md", "text\n")
    a.sync()
    library = tmp_path / "lib-r"
    library.mkdir()
    engine = join_remote(
        Connection(wsgidav_server.url, USER, PASSWORD),
        tmp_path / "r" / "s.sqlite",
        library,
        recovery_key=fleet.recovery_key.lower(),
        client=wsgidav_server.client(),
    )
    try:
        assert engine.sync_once().ok
        assert (library / "a.md").read_text() == "text\n"
    finally:
        engine.close()
    with pytest.raises(errors.WrongPassphrase, match="recovery key"):
        join_remote(
            Connection(wsgidav_server.url, USER, PASSWORD),
            tmp_path / "r2" / "s.sqlite",
            library,
            recovery_key="AAAA-" * 7 + "AAAA",
            client=wsgidav_server.client(),
        )


def test_passphrase_changed_on_another_device(
    wsgidav_server: DavServer, fleet_factory, tmp_path: Path
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a, b = fleet.add("A"), fleet.add("B")
    with pytest.raises(errors.WrongPassphrase):
        a.engine.change_passphrase("wrong current passphrase", "new passphrase 2")
    a.engine.change_passphrase(PASSPHRASE, "new passphrase 2")
    # B keeps syncing with the key it holds.
    a.write("after.md", "written after the change\n")
    fleet.sync_all()
    assert b.read("after.md") == "written after the change\n"
    # A new device must use the new passphrase; the old one gets a clear hint.
    conn = Connection(wsgidav_server.url, USER, PASSWORD)
    with pytest.raises(errors.WrongPassphrase, match="changed on another device"):
        join_remote(
            conn,
            tmp_path / "c" / "s.sqlite",
            tmp_path,
            passphrase=PASSPHRASE,
            client=wsgidav_server.client(),
        )
    library = tmp_path / "lib-c"
    library.mkdir()
    c = join_remote(
        conn,
        tmp_path / "c2" / "s.sqlite",
        library,
        passphrase="new passphrase 2",
        client=wsgidav_server.client(),
    )
    try:
        assert c.sync_once().ok
        assert (library / "after.md").exists()
    finally:
        c.close()


# --- uploads that fail halfway -----------------------------------------------------------


def test_dropped_upload_leaves_nothing_half_written(
    proxy: FaultProxy, wsgidav_server: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A", url=proxy.url)
    b = fleet.add("B")
    a.write("big.md", "word " * 50_000)
    proxy.set_policy(lambda method, path: "truncate_upload" if method == "PUT" else None)
    report = a.sync(expect_ok=False)
    assert report.error is not None
    assert not list((wsgidav_server.root / "blobs").iterdir())
    assert not [p for p in (wsgidav_server.root / "log").rglob("*") if p.is_file()]
    assert b.sync().downloaded == []
    proxy.clear()
    a.sync()
    b.sync()
    assert b.read("big.md") == "word " * 50_000
    assert not [p for p in (wsgidav_server.root / "tmp").iterdir()], "staging was cleaned"


def test_lost_answer_after_log_entry_landed(
    proxy: FaultProxy, wsgidav_server: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A", url=proxy.url)
    b = fleet.add("B")
    a.write("x.md", "v1\n")
    # The MOVE that commits the log entry (the second MOVE, after the blob's) happens, then the
    # connection goes: its answer and every later request are lost.
    moves = {"n": 0}

    def policy(method: str, path: str) -> str | None:
        if moves["n"] >= 2:
            return "drop"
        if method == "MOVE":
            moves["n"] += 1
            return "drop_after" if moves["n"] == 2 else None
        return None

    proxy.set_policy(policy)
    assert "could not be reached" in (a.sync(expect_ok=False).error or "")
    assert a.engine.state.outbox() is not None
    proxy.clear()
    a.write("x.md", "v2\n")
    a.sync()
    b.sync()
    assert b.read("x.md") == "v2\n"
    entries = sorted(p.name for p in (wsgidav_server.root / "log").rglob("*") if p.is_file())
    assert entries == ["000000000001", "000000000002"]
    assert [v.size for v in b.engine.history("x.md")] == [3, 3]


@pytest.mark.parametrize(
    "fault",
    [
        "status:401",
        "status:412",
        "status:423",
        "status:500",
        "status:503",
        "status:507",
        "html",
        "garbage_xml",
        "drop",
        "drop_after",
        "truncate_download",
    ],
)
def test_server_trouble_mid_sync_is_reported_and_recovers(
    proxy: FaultProxy, wsgidav_server: DavServer, fleet_factory, fault: str
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A", url=proxy.url)
    a.write("one.md", "1\n")
    a.sync()
    a.write("one.md", "1 edited\n")
    a.write("two.md", "2\n")
    calls = {"n": 0}

    def policy(method: str, path: str) -> str | None:
        calls["n"] += 1
        return fault if calls["n"] > 3 else None  # fail somewhere in the middle

    proxy.set_policy(policy)
    report = a.sync(expect_ok=False)
    assert report.error
    assert a.files() == {"one.md": "1 edited\n", "two.md": "2\n"}
    proxy.clear()
    a.sync()
    b = fleet.add("B")
    b.sync()
    assert b.files() == a.files()


def test_versions_saved_while_offline_reach_history(
    proxy: FaultProxy, wsgidav_server: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A", url=proxy.url)
    b = fleet.add("B")
    proxy.set_policy(lambda method, path: "drop")
    for text in ("draft one\n", "draft two!\n", "draft three!!\n"):
        a.write("d.md", text)
        report = a.sync(expect_ok=False)
        assert "could not be reached" in (report.error or "")
    assert a.engine.unsent_versions() == 3
    proxy.clear()
    a.sync()
    assert a.engine.unsent_versions() == 0
    b.sync()
    sizes = sorted(v.size for v in b.engine.history("d.md"))
    assert sizes == [10, 11, 14]
    oldest = min(b.engine.history("d.md"), key=lambda v: v.size)
    b.engine.restore(oldest.rev_id)
    assert b.read("d.md") == "draft one\n"


# --- a server that lies ------------------------------------------------------------------


def test_replayed_log_entry_is_detected(wsgidav_server: DavServer, fleet_factory) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a, b = fleet.add("A"), fleet.add("B")
    a.write("x.md", "first\n")
    a.sync()
    a.write("x.md", "second\n")
    a.sync()
    entries = sorted((wsgidav_server.root / "log" / a.engine.device_id).iterdir())
    shutil.copy(entries[0], entries[1])  # the server serves the old entry under the new number
    report = b.sync(expect_ok=False)
    assert "integrity" in (report.error or "")
    assert b.files() == {"x.md": "first\n"}  # entry 1 applied, the forged entry 2 was not


def test_swapped_blob_is_detected(wsgidav_server: DavServer, fleet_factory) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a, b = fleet.add("A"), fleet.add("B")
    a.write("one.md", "one\n")
    a.write("two.md", "two\n")
    a.sync()
    blobs = sorted((wsgidav_server.root / "blobs").iterdir())
    data0, data1 = blobs[0].read_bytes(), blobs[1].read_bytes()
    blobs[0].write_bytes(data1)
    blobs[1].write_bytes(data0)
    report = b.sync(expect_ok=False)
    assert "does not match its hash" in (report.error or "")
    assert b.files() == {}
    # Even a blob renamed to match its new hash fails: it is bound to its document.
    for blob in blobs:
        blob.unlink()
    (wsgidav_server.root / "blobs" / hashlib.sha256(data1).hexdigest()).write_bytes(data1)
    (wsgidav_server.root / "blobs" / hashlib.sha256(data0).hexdigest()).write_bytes(data0)
    assert b.sync().ok is True
    assert b.files() == {"one.md": "one\n", "two.md": "two\n"}


def test_server_forgetting_entries_deletes_nothing(
    wsgidav_server: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a, b = fleet.add("A"), fleet.add("B")
    a.write("x.md", "x\n")
    fleet.sync_all()
    shutil.rmtree(wsgidav_server.root / "log" / a.engine.device_id)
    report = b.sync()
    assert any("server lost the log" in w for w in report.warnings)
    assert b.files() == {"x.md": "x\n"}
    # The device that wrote the entries puts them back, so nobody waits on a gap.
    report = a.sync()
    assert any("uploaded again" in w for w in report.warnings)
    a.write("y.md", "y\n")
    a.sync()
    entry2 = wsgidav_server.root / "log" / a.engine.device_id / "000000000002"
    entry2.unlink()  # a server restored from an older backup
    a.write("z.md", "z\n")
    a.sync()
    c = fleet.add("C")
    c.sync()
    assert c.files() == {"x.md": "x\n", "y.md": "y\n", "z.md": "z\n"}


# --- remotes that are empty, new or different ----------------------------------------------


def test_empty_or_different_remote_never_deletes(
    wsgidav_server: DavServer, fleet_factory, tmp_path: Path
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A")
    a.write("precious.md", "do not lose me\n")
    a.sync()
    # The drive behind the server is unmounted: the folder is empty.
    saved = tmp_path / "saved-remote"
    shutil.move(str(wsgidav_server.root), saved)
    wsgidav_server.root.mkdir()
    report = a.sync(expect_ok=False)
    assert "empty or is not a Draftsmith sync folder" in (report.error or "")
    assert a.files() == {"precious.md": "do not lose me\n"}
    # Someone set up a brand-new remote at the same address.
    other = fleet_factory(wsgidav_server.url, sub="other-fleet")
    other.add("Z").sync()
    report = a.sync(expect_ok=False)
    assert "different sync folder" in (report.error or "")
    assert a.files() == {"precious.md": "do not lose me\n"}


def test_missing_library_folder_is_an_error_not_a_mass_delete(
    wsgidav_server: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a, b = fleet.add("A"), fleet.add("B")
    a.write("x.md", "x\n")
    fleet.sync_all()
    shutil.rmtree(a.library)
    report = a.sync(expect_ok=False)
    assert "missing" in (report.error or "")
    b.sync()
    assert b.files() == {"x.md": "x\n"}


# --- a big document ----------------------------------------------------------------------


def test_fifty_megabyte_document_streams(wsgidav_server: DavServer, fleet_factory) -> None:
    import tracemalloc

    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a, b = fleet.add("A"), fleet.add("B")
    line = "All work and no play makes Jack a dull boy. \u00e9\u00e8\n"
    text = line * (50 * 1024 * 1024 // len(line.encode()) + 1)
    a.write("novel.md", text)
    size = (a.library / "novel.md").stat().st_size
    assert size >= 50 * 1024 * 1024
    del text
    tracemalloc.start()
    try:
        a.sync()
        b.sync()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 24 * 1024 * 1024, f"peak Python memory {peak / 2**20:.1f} MiB"
    assert (b.library / "novel.md").stat().st_size == size
    assert (
        hashlib.sha256((b.library / "novel.md").read_bytes()).digest()
        == hashlib.sha256((a.library / "novel.md").read_bytes()).digest()
    )


# --- lifecycle ---------------------------------------------------------------------------


def test_turn_off_and_on_again_catches_up(wsgidav_server: DavServer, fleet_factory) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a, b = fleet.add("A"), fleet.add("B")
    a.write("shared.md", "v1\n")
    a.write("dropme.md", "old\n")
    fleet.sync_all()
    a.engine.turn_off()
    a.write("offline.md", "written while sync was off\n")
    b.write("shared.md", "v2 from B\n")
    (b.library / "dropme.md").unlink()
    b.sync()
    report = a.engine.sync_once()
    assert report.error == "Sync is turned off on this device."
    assert a.files()["shared.md"] == "v1\n"
    a.engine.turn_on()
    fleet.sync_all()
    expected = {"shared.md": "v2 from B\n", "offline.md": "written while sync was off\n"}
    assert a.files() == b.files() == expected


def test_forget_device_removes_secrets_and_keeps_files(
    wsgidav_server: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A")
    a.write("x.md", "x\n")
    a.sync()
    state_path = a.engine.state.path
    device_id = a.engine.device_id
    assert keyring.get_password("Draftsmith Sync", f"data-key:{device_id}")
    a.engine.forget_device()
    fleet.devices.remove(a)
    assert keyring.get_password("Draftsmith Sync", f"data-key:{device_id}") is None
    assert (
        keyring.get_password("Draftsmith Sync", f"app-password:{USER}@{wsgidav_server.url}") is None
    )
    assert not state_path.exists()
    assert a.files() == {"x.md": "x\n"}
    with pytest.raises(errors.NotSetUp):
        SyncEngine(state_path, a.library)


def test_report_lists_changed_paths_for_the_editor(
    wsgidav_server: DavServer, fleet_factory
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a, b = fleet.add("A"), fleet.add("B")
    a.write("a.md", "a\n")
    a.write("b.md", "b\n")
    fleet.sync_all()
    a.write("a.md", "a2\n")
    (a.library / "b.md").unlink()
    a.sync()
    report: SyncReport = b.sync()
    assert report.changed_paths == ["a.md", "b.md"]
    assert report.downloaded == ["a.md"] and report.deleted == ["b.md"]


def test_a_record_naming_a_path_outside_the_library_is_not_written(
    wsgidav_server: DavServer, fleet_factory, tmp_path: Path
) -> None:
    from desktop.sync.state_db import Revision

    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a, b = fleet.add("A"), fleet.add("B")
    a.write("x.md", "x\n")
    a.sync()
    (rev,) = [r for d in a.engine.state.all_doc_ids() for r in a.engine.state.revisions_of(d)]
    for n, evil in enumerate(["../../escape.md", "/tmp/escape.md", ".draftsmith/library.json"]):
        forged = Revision(
            **{
                **rev.__dict__,
                "rev_id": f"evil{n}",
                "doc_id": f"evil-doc{n}",
                "parents": (),
                "path": evil,
            }
        )
        a.engine.state.add_revision(forged, published=False)
    a.engine._publish(SyncReport())
    report = b.sync()
    assert sum("unsafe name" in w for w in report.warnings) == 3
    assert b.files() == {"x.md": "x\n"}
    assert not list(tmp_path.rglob("escape.md"))
    assert not (b.library / ".draftsmith" / "library.json").exists()


def test_passphrase_change_can_raise_the_kdf_cost(
    wsgidav_server: DavServer, fleet_factory, tmp_path: Path
) -> None:
    import json

    from desktop.sync import KdfParams

    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A")
    stronger = KdfParams(memory_kib=64, iterations=2, lanes=1)
    a.engine.change_passphrase(PASSPHRASE, "a stronger one", kdf=stronger)
    key_files = sorted((wsgidav_server.root / "keys").glob("passphrase-*.json"))
    assert [p.name for p in key_files] == ["passphrase-2.json"]  # the old wrapping is gone
    assert KdfParams.from_json(json.loads(key_files[0].read_text())["kdf"]) == stronger
    library = tmp_path / "lib-n"
    library.mkdir()
    engine = join_remote(
        Connection(wsgidav_server.url, USER, PASSWORD),
        tmp_path / "n" / "s.sqlite",
        library,
        passphrase="a stronger one",
        client=wsgidav_server.client(),
    )
    engine.close()
    # The recovery key still opens the remote after a passphrase change.
    engine = join_remote(
        Connection(wsgidav_server.url, USER, PASSWORD),
        tmp_path / "m" / "s.sqlite",
        library,
        recovery_key=fleet.recovery_key,
        client=wsgidav_server.client(),
    )
    engine.close()
