"""Secrets for sync live in the OS keyring, never in files: the app password and the data key."""

from __future__ import annotations

import base64
import logging

import keyring
import keyring.errors

from desktop.sync.errors import SyncError

log = logging.getLogger(__name__)

SERVICE = "Draftsmith Sync"


def _set(name: str, secret: str) -> None:
    try:
        keyring.set_password(SERVICE, name, secret)
    except keyring.errors.KeyringError as exc:
        raise SyncError(
            "No system keyring is available to keep the sync secrets safe "
            "(on Linux, install and unlock GNOME Keyring or KWallet)."
        ) from exc


def _get(name: str) -> str | None:
    try:
        return keyring.get_password(SERVICE, name)
    except keyring.errors.KeyringError as exc:
        raise SyncError(
            "The system keyring could not be read; sync needs it for its secrets."
        ) from exc


def _delete(name: str) -> None:
    try:
        keyring.delete_password(SERVICE, name)
    except keyring.errors.PasswordDeleteError:
        pass
    except keyring.errors.KeyringError as exc:
        log.warning("could not remove a sync secret from the keyring: %s", exc)


def _password_name(url: str, user: str) -> str:
    return f"app-password:{user}@{url}"


def save_app_password(url: str, user: str, password: str) -> None:
    _set(_password_name(url, user), password)


def load_app_password(url: str, user: str) -> str:
    value = _get(_password_name(url, user))
    if value is None:
        raise SyncError("The app password for sync is missing from the keyring; enter it again.")
    return value


def delete_app_password(url: str, user: str) -> None:
    _delete(_password_name(url, user))


def save_data_key(device_id: str, key: bytes) -> None:
    _set(f"data-key:{device_id}", base64.b64encode(key).decode())


def load_data_key(device_id: str) -> bytes:
    value = _get(f"data-key:{device_id}")
    if value is None:
        raise SyncError(
            "This device's sync key is missing from the keyring; "
            "set sync up again with the passphrase."
        )
    return base64.b64decode(value)


def delete_data_key(device_id: str) -> None:
    _delete(f"data-key:{device_id}")
