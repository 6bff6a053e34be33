"""Setting sync up: create the encrypted remote (first device) or join it (other devices),
and its key files (see ``keys``). Secrets go to the keyring; settings to the device's state DB."""

from __future__ import annotations

import logging
import platform
import secrets
from dataclasses import dataclass
from pathlib import Path

from desktop.sync import credentials, crypto, errors, keys
from desktop.sync.engine import SyncEngine
from desktop.sync.reconcile import DeleteConfirmation
from desktop.sync.remote_store import RemoteFormat, RemoteStore
from desktop.sync.state_db import StateDb
from desktop.sync.webdav import WebDavClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Connection:
    url: str
    user: str
    app_password: str
    device_name: str = ""

    def client(self) -> WebDavClient:
        return WebDavClient(self.url, self.user, self.app_password)


def check_local(state_path: Path, library_root: Path, secrets_in_file: bool = False) -> None:
    """Everything set-up needs on this computer, checked before the server is touched: the
    library folder, a writable state folder, not set up already, and a place for the
    secrets (the keyring, or the secrets file where the writer chose it)."""
    if not library_root.is_dir():
        raise errors.LocalLibraryMissing(f"The library folder {library_root} does not exist.")
    folder = state_path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".{state_path.name}.probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise errors.SyncError(
            f"Sync cannot write its state in {folder}: {exc.strerror}. Nothing was changed."
        ) from exc
    if state_path.exists():
        state = StateDb(state_path)
        try:
            if state.get("device_id"):
                raise errors.SyncError(
                    "Sync is already set up on this device; forget this device first."
                )
        finally:
            state.close()
    if secrets_in_file:
        credentials.check_file(credentials.secrets_file_for(state_path))
    elif not credentials.keyring_usable():
        raise credentials.NoKeyring(
            "No system keyring is available to keep the sync secrets safe (on Linux, install "
            "and unlock GNOME Keyring or KWallet), so nothing was sent to the server. You can "
            "keep them in a file only your user account can read instead."
        )


def check_server(
    connection: Connection, creating: bool, client: WebDavClient | None = None
) -> None:
    """The server answers, takes the user name and app password, and its folder suits the
    choice (empty or half-created to create; a sync folder to join). Writes nothing."""
    own = client is None
    client = client or connection.client()
    try:
        store = RemoteStore(client)
        names = {e.name for e in client.list_folder("")}
        if not creating:
            store.read_format()
        elif "format.json" in names:
            raise errors.SyncError(
                "This server folder already holds a Draftsmith sync folder: choose "
                "“Join the sync folder I set up on another device”."
            )
    except errors.RemoteNotFound as exc:
        raise errors.RemoteNotFound(
            "The server has no folder at that address. Create it on the server first "
            "(for example in its web page), then try again."
        ) from exc
    finally:
        if own:
            client.close()


def _roll_back_half_created(store: RemoteStore) -> None:
    """A folder an earlier, interrupted set-up left without format.json holds only key files
    nobody can use yet (no device joins without format.json): remove them to start over."""
    names = {e.name for e in store.client.list_folder("")}
    if "format.json" in names:
        raise errors.SyncError(
            "This server folder already holds a Draftsmith sync folder; join it instead."
        )
    if "log" in names and any(e.is_dir for e in store.client.list_folder("log")):
        raise errors.SyncError(
            "This server folder holds devices' sync logs but no format.json (a damaged sync "
            "folder). Nothing was changed; choose another folder or restore it from a backup."
        )
    if "keys" not in names:
        return
    for entry in store.client.list_folder("keys"):
        if entry.name == "recovery.json" or (
            entry.name.startswith("passphrase-") and entry.name.endswith(".json")
        ):
            log.info("removing key file %s left by an interrupted set-up", entry.name)
            store.client.delete(f"keys/{entry.name}")


def create_remote(
    connection: Connection,
    passphrase: str,
    state_path: Path,
    library_root: Path,
    kdf: crypto.KdfParams | None = None,
    client: WebDavClient | None = None,
    confirm_deletes: DeleteConfirmation | None = None,
    secrets_in_file: bool = False,
) -> tuple[SyncEngine, str]:
    """First device: create the encrypted sync folder. Returns (engine, recovery key).

    The recovery key is shown once; it is not stored anywhere on this device. Local checks
    run first; a folder left half-created by an interrupted attempt is started over."""
    if len(passphrase) < 8:
        raise errors.SyncError("Choose a passphrase of at least 8 characters.")
    check_local(state_path, library_root, secrets_in_file)
    kdf = kdf or crypto.KdfParams()
    client = client or connection.client()
    device_id = secrets.token_hex(8)
    store = RemoteStore(client, device_id)
    _roll_back_half_created(store)
    fmt = RemoteFormat(remote_id=secrets.token_hex(16), kdf=kdf)
    data_key = crypto.new_data_key()
    recovery_key = crypto.new_recovery_key()
    # Keys first, format.json last: until format.json exists nobody treats this as a remote.
    for folder in ("keys", "blobs", "log", "tmp"):
        client.mkcol(folder)
    store.put_new(
        "keys/passphrase-1.json",
        keys.passphrase_file(fmt.remote_id, data_key, passphrase, 1, kdf),
    )
    store.put_new(keys.RECOVERY_FILE, keys.recovery_file(fmt.remote_id, data_key, recovery_key))
    store.create_layout(fmt)
    engine = _enrol(
        connection,
        state_path,
        library_root,
        device_id,
        fmt.remote_id,
        data_key,
        client,
        confirm_deletes,
        secrets_in_file,
    )
    return engine, recovery_key


def join_remote(
    connection: Connection,
    state_path: Path,
    library_root: Path,
    *,
    passphrase: str | None = None,
    recovery_key: str | None = None,
    client: WebDavClient | None = None,
    confirm_deletes: DeleteConfirmation | None = None,
    secrets_in_file: bool = False,
) -> SyncEngine:
    """Another device joins. A wrong passphrase raises before anything is written anywhere."""
    check_local(state_path, library_root, secrets_in_file)
    client = client or connection.client()
    device_id = secrets.token_hex(8)
    store = RemoteStore(client, device_id)
    fmt = store.read_format()
    data_key = keys.open_data_key(store, fmt, passphrase, recovery_key)
    return _enrol(
        connection,
        state_path,
        library_root,
        device_id,
        fmt.remote_id,
        data_key,
        client,
        confirm_deletes,
        secrets_in_file,
    )


def _enrol(
    connection: Connection,
    state_path: Path,
    library_root: Path,
    device_id: str,
    remote_id: str,
    data_key: bytes,
    client: WebDavClient,
    confirm_deletes: DeleteConfirmation | None,
    secrets_in_file: bool = False,
) -> SyncEngine:
    state = StateDb(state_path)
    secrets_file = credentials.secrets_file_for(state_path) if secrets_in_file else None
    try:
        if state.get("device_id"):
            raise errors.SyncError(
                "Sync is already set up on this device; forget this device first."
            )
        credentials.save_app_password(
            connection.url, connection.user, connection.app_password, secrets_file
        )
        credentials.save_data_key(device_id, data_key, secrets_file)
        with state.transaction():
            if secrets_in_file:
                state.set("secrets", "file")
            state.set("device_id", device_id)
            state.set("device_name", connection.device_name or platform.node() or "this device")
            state.set("remote_id", remote_id)
            state.set("url", connection.url)
            state.set("user", connection.user)
            state.set("library_root", str(library_root))
            state.set("enabled", "1")
    finally:
        state.close()
    return SyncEngine(
        state_path, library_root, client=client, data_key=data_key, confirm_deletes=confirm_deletes
    )
