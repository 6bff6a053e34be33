"""Setting sync up can't be left half done (issue 12, finding 4): everything local is checked
before the server is touched, a folder an interrupted set-up left behind is started over, and
without a keyring the writer can keep the secrets in an owner-only file instead."""

from __future__ import annotations

import stat
from pathlib import Path

import keyring
import pytest
from keyring.backends.fail import Keyring as NoKeyringBackend

from desktop.sync import SyncEngine, create_remote, errors, join_remote
from desktop.sync.credentials import NoKeyring, secrets_file_for
from tests.sync.dav_harness import PASSPHRASE, TEST_KDF, DavServer, FaultProxy, Fleet


def _server_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_no_keyring_stops_before_anything_reaches_the_server(
    wsgidav_server: DavServer, fleet_factory, tmp_path: Path
) -> None:
    keyring.set_keyring(NoKeyringBackend())
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    library = tmp_path / "lib"
    library.mkdir()
    state = tmp_path / "state" / "sync.sqlite"
    with pytest.raises(NoKeyring) as info:
        create_remote(
            fleet.connection("Laptop"),
            PASSPHRASE,
            state,
            library,
            kdf=TEST_KDF,
            client=fleet.client(),
        )
    assert "nothing was sent to the server" in str(info.value)
    assert "file only your user account can read" in str(info.value)
    assert list(wsgidav_server.root.iterdir()) == []

    # The same set-up with the secrets file instead: works, and survives a restart.
    engine, recovery = create_remote(
        fleet.connection("Laptop"),
        PASSPHRASE,
        state,
        library,
        kdf=TEST_KDF,
        client=fleet.client(),
        secrets_in_file=True,
    )
    assert len(recovery.replace("-", "")) == 32
    secrets = secrets_file_for(state)
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    engine.close()
    (library / "story.md").write_text("kept without a keyring\n")
    again = SyncEngine(state, library)  # app password and key come from the file
    assert again.sync_once().error is None
    other = tmp_path / "lib-2"
    other.mkdir()
    joined = join_remote(
        fleet.connection("Desk"),
        tmp_path / "state-2" / "sync.sqlite",
        other,
        passphrase=PASSPHRASE,
        client=fleet.client(),
        secrets_in_file=True,
    )
    assert joined.sync_once().error is None
    assert (other / "story.md").read_text() == "kept without a keyring\n"
    joined.close()
    again.forget_device()
    assert not secrets.exists()


def test_interrupted_creation_is_started_over_not_stuck(
    wsgidav_server: DavServer, proxy: FaultProxy, fleet_factory, tmp_path: Path
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    library = tmp_path / "lib"
    library.mkdir()
    state = tmp_path / "state" / "sync.sqlite"
    # The server fails once the keys are up, just before format.json is written.
    proxy.set_policy(lambda method, path: "status:503" if path.endswith("/format.json") else None)
    with pytest.raises(errors.SyncError):
        create_remote(
            fleet.connection("Laptop"),
            PASSPHRASE,
            state,
            library,
            kdf=TEST_KDF,
            client=fleet.client(proxy.url),
        )
    assert "keys/passphrase-1.json" in _server_files(wsgidav_server.root)
    assert "format.json" not in _server_files(wsgidav_server.root)

    proxy.clear()
    engine, _ = create_remote(
        fleet.connection("Laptop"),
        PASSPHRASE,
        state,
        library,
        kdf=TEST_KDF,
        client=fleet.client(proxy.url),
    )
    engine.close()
    other = tmp_path / "lib-2"
    other.mkdir()
    joined = join_remote(
        fleet.connection("Desk"),
        tmp_path / "state-2" / "sync.sqlite",
        other,
        passphrase=PASSPHRASE,
        client=fleet.client(),
    )
    joined.close()
    assert [f for f in _server_files(wsgidav_server.root) if f.startswith("keys/")] == [
        "keys/passphrase-1.json",
        "keys/recovery.json",
    ]


def test_a_folder_with_logs_but_no_format_is_not_rolled_back(
    wsgidav_server: DavServer, fleet_factory, tmp_path: Path
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("A")
    a.write("x.md", "x\n")
    a.sync()
    (wsgidav_server.root / "format.json").unlink()
    library = tmp_path / "lib-new"
    library.mkdir()
    before = _server_files(wsgidav_server.root)
    with pytest.raises(errors.SyncError, match="damaged sync folder"):
        create_remote(
            fleet.connection("B"),
            PASSPHRASE,
            tmp_path / "s" / "sync.sqlite",
            library,
            kdf=TEST_KDF,
            client=fleet.client(),
        )
    assert _server_files(wsgidav_server.root) == before
