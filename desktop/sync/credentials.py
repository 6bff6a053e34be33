"""Sync's two secrets: the app password and the data key.

They live in the OS keyring. Where there is none (a bare Linux desktop, a server session) the
writer may choose a secrets file instead: readable only by their user account, next to the
sync state. That file is NOT encrypted by anything this computer could not also read, so
anyone who can read the writer's files or backups can read it; the set-up wizard says so.
Every function takes ``file``: None means the keyring.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path

from desktop.library.atomic_write import atomic_write_bytes
from desktop.sync.errors import SyncError
from licensing.client.os_keyring import keyring

log = logging.getLogger(__name__)

SERVICE = "Draftsmith Sync"


_PROBE = "probe"


class NoKeyring(SyncError):
    """No usable system keyring; the writer can choose the secrets file instead."""


def keyring_usable() -> bool:
    """Whether the OS keyring can store, read back and remove a secret right now."""
    try:
        keyring.set_password(SERVICE, _PROBE, "ok")
        ok = keyring.get_password(SERVICE, _PROBE) == "ok"
        keyring.delete_password(SERVICE, _PROBE)
    except keyring.errors.KeyringError as exc:
        log.info("no usable keyring: %s", exc)
        return False
    return ok


def secrets_file_for(state_path: Path) -> Path:
    return state_path.with_name(f"{state_path.stem}-secrets.json")


def check_file(file: Path) -> None:
    """The secrets file can be written in its folder (checked before set-up writes anywhere)."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        probe = file.with_name(f".{file.name}.probe")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SyncError(f"Sync cannot keep its secrets in {file.parent}: {exc.strerror}.") from exc


def _read_file(file: Path) -> dict[str, str]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise SyncError(f"The sync secrets file {file} cannot be read.") from exc
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_file(file: Path, entries: dict[str, str]) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    if not file.exists():
        # Created owner-only; atomic_write_bytes keeps the mode of the file it replaces.
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(file, 0o600)
    atomic_write_bytes(file, json.dumps(entries, indent=1).encode())


def _set(name: str, secret: str, file: Path | None = None) -> None:
    if file is not None:
        entries = _read_file(file)
        entries[name] = secret
        _write_file(file, entries)
        return
    try:
        keyring.set_password(SERVICE, name, secret)
    except keyring.errors.KeyringError as exc:
        raise NoKeyring(
            "No system keyring is available to keep the sync secrets safe "
            "(on Linux, install and unlock GNOME Keyring or KWallet)."
        ) from exc


def _get(name: str, file: Path | None = None) -> str | None:
    if file is not None:
        return _read_file(file).get(name)
    try:
        return keyring.get_password(SERVICE, name)
    except keyring.errors.KeyringError as exc:
        raise SyncError(
            "The system keyring could not be read; sync needs it for its secrets."
        ) from exc


def _delete(name: str, file: Path | None = None) -> None:
    if file is not None:
        entries = _read_file(file)
        if entries.pop(name, None) is not None:
            if entries:
                _write_file(file, entries)
            else:
                file.unlink(missing_ok=True)
        return
    try:
        keyring.delete_password(SERVICE, name)
    except keyring.errors.PasswordDeleteError:
        pass
    except keyring.errors.KeyringError as exc:
        log.warning("could not remove a sync secret from the keyring: %s", exc)


def _password_name(url: str, user: str) -> str:
    return f"app-password:{user}@{url}"


def _where(file: Path | None) -> str:
    return "the keyring" if file is None else "the sync secrets file"


def save_app_password(url: str, user: str, password: str, file: Path | None = None) -> None:
    _set(_password_name(url, user), password, file)


def load_app_password(url: str, user: str, file: Path | None = None) -> str:
    value = _get(_password_name(url, user), file)
    if value is None:
        raise SyncError(
            f"The app password for sync is missing from {_where(file)}; enter it again."
        )
    return value


def delete_app_password(url: str, user: str, file: Path | None = None) -> None:
    _delete(_password_name(url, user), file)


def save_data_key(device_id: str, key: bytes, file: Path | None = None) -> None:
    _set(f"data-key:{device_id}", base64.b64encode(key).decode(), file)


def load_data_key(device_id: str, file: Path | None = None) -> bytes:
    value = _get(f"data-key:{device_id}", file)
    if value is None:
        raise SyncError(
            f"This device's sync key is missing from {_where(file)}; "
            "set sync up again with the passphrase."
        )
    return base64.b64decode(value)


def delete_data_key(device_id: str, file: Path | None = None) -> None:
    _delete(f"data-key:{device_id}", file)
