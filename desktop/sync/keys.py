"""The sync folder's keys: the data key wrapped under the passphrase and under the recovery
key (files in ``keys/`` on the server), opening it, and changing the passphrase.

Set-up (``account``) and the engine both use this; it builds no engines itself.
"""

from __future__ import annotations

import base64
import json
import secrets

from desktop.sync import crypto, errors
from desktop.sync.remote_store import RemoteFormat, RemoteStore

RECOVERY_FILE = "keys/recovery.json"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: object) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except ValueError as exc:
        raise errors.RemoteProtocolError("A key file on the server is damaged.") from exc


def passphrase_file(
    remote_id: str, data_key: bytes, passphrase: str, gen: int, kdf: crypto.KdfParams
) -> bytes:
    salt = secrets.token_bytes(16)
    kek = crypto.passphrase_key(passphrase, salt, kdf)
    wrapped = crypto.wrap_key(kek, data_key, f"{remote_id}|passphrase".encode())
    return json.dumps(
        {
            "generation": gen,
            "kdf": kdf.to_json(),
            "salt": _b64(salt),
            "wrapped": _b64(wrapped),
            "key_check": crypto.key_check(data_key),
        },
        indent=1,
    ).encode()


def recovery_file(remote_id: str, data_key: bytes, recovery_key: str) -> bytes:
    """The data key wrapped under the recovery key (shown once, kept nowhere here)."""
    recovery = crypto.wrap_key(
        crypto.recovery_wrapping_key(recovery_key, remote_id),
        data_key,
        f"{remote_id}|recovery".encode(),
    )
    return json.dumps({"wrapped": _b64(recovery), "key_check": crypto.key_check(data_key)}).encode()


def open_data_key(
    store: RemoteStore,
    fmt: RemoteFormat,
    passphrase: str | None = None,
    recovery_key: str | None = None,
) -> bytes:
    """Unwrap the data key with the passphrase or the recovery key (else WrongPassphrase)."""
    if recovery_key:
        data = store.read_json(RECOVERY_FILE)
        kek = crypto.recovery_wrapping_key(recovery_key, fmt.remote_id)
        try:
            return crypto.unwrap_key(
                kek, _unb64(data["wrapped"]), f"{fmt.remote_id}|recovery".encode()
            )
        except errors.WrongPassphrase as exc:
            raise errors.WrongPassphrase(
                "That recovery key does not open this sync folder."
            ) from exc
    if passphrase is None:
        raise errors.WrongPassphrase("Enter the sync passphrase or the recovery key.")
    gens = store.passphrase_generations()
    if not gens:
        raise errors.RemoteProtocolError("The sync folder on the server has no key file.")
    data = store.read_json(f"keys/passphrase-{gens[-1]}.json")
    try:
        kdf = crypto.KdfParams.from_json(data["kdf"])  # type: ignore[arg-type]
        salt = _unb64(data["salt"])
        wrapped = _unb64(data["wrapped"])
    except (KeyError, TypeError, ValueError) as exc:
        raise errors.RemoteProtocolError("The key file on the server is damaged.") from exc
    kek = crypto.passphrase_key(passphrase, salt, kdf)
    try:
        return crypto.unwrap_key(kek, wrapped, f"{fmt.remote_id}|passphrase".encode())
    except errors.WrongPassphrase as exc:
        hint = (
            " If it was changed on another device, use the new passphrase." if gens[-1] > 1 else ""
        )
        raise errors.WrongPassphrase(
            f"That passphrase does not open this sync folder.{hint}"
        ) from exc


def change_passphrase(
    store: RemoteStore,
    remote_id: str,
    data_key: bytes,
    current: str,
    new: str,
    kdf: crypto.KdfParams | None = None,
) -> None:
    """Re-wrap the data key under a new passphrase; the old one stops opening the folder."""
    if len(new) < 8:
        raise errors.SyncError("Choose a passphrase of at least 8 characters.")
    fmt = store.read_format()
    if fmt.remote_id != remote_id:
        raise errors.RemoteChanged("The server folder holds a different sync folder now.")
    if open_data_key(store, fmt, passphrase=current) != data_key:
        raise errors.WrongPassphrase("That passphrase opens a different key; nothing was changed.")
    gens = store.passphrase_generations()
    gen = gens[-1] + 1
    store.put_new(
        f"keys/passphrase-{gen}.json",
        passphrase_file(remote_id, data_key, new, gen, kdf or fmt.kdf),
    )
    for old in gens:
        # The old passphrase must stop working; other devices keep the data key they hold.
        store.client.delete(f"keys/passphrase-{old}.json")
