"""Licenses and seats the server has withdrawn, remembered so an old copy can't come back.

A refresh that the server refuses with a *signed* REVOKED / REFUNDED / SUSPENDED / NOT_FOUND
answer withdraws the license; MACHINE_NOT_ACTIVATED withdraws this machine's seat. The
record holds the server's signed time of that answer: any certificate of that license (or
seat) issued before it is refused, so re-importing a saved copy of ``license.txt`` does not
work, while a certificate issued afterwards (the vendor reinstated the license) does.

The record lives in the state file and in the keyring. Someone who deletes both gets an old
*online* certificate back only until its offline horizon (``status.GRACE_S``) runs out.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from licensing.client.certificate import Certificate
from licensing.client.errors import KeyringUnavailable
from licensing.client.keyring_store import WITHDRAWN_ENTRY, KeyringStore
from licensing.client.license_files import read_state, update_state

log = logging.getLogger(__name__)

STATE_KEY = "withdrawn"
MAX_RECORDS = 200


@dataclass(frozen=True)
class Withdrawal:
    at: int  # the server's signed time of the refusal
    reason: str


def _license_key(license_id: str) -> str:
    return f"license:{license_id}"


def _seat_key(machine_id: str) -> str:
    return f"seat:{machine_id}"


def _clean(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        return {}
    found: dict[str, dict[str, Any]] = {}
    for name, record in value.items():
        if (
            isinstance(name, str)
            and isinstance(record, dict)
            and isinstance(record.get("at"), int)
            and isinstance(record.get("reason"), str)
        ):
            found[name] = {"at": record["at"], "reason": record["reason"][:500]}
    return found


def _from_keyring(store: KeyringStore) -> dict[str, dict[str, Any]]:
    try:
        raw = store.entry(WITHDRAWN_ENTRY)
    except KeyringUnavailable:
        return {}
    if raw is None:
        return {}
    try:
        return _clean(json.loads(raw))
    except ValueError:
        log.warning("the withdrawn-license record in the keyring is corrupt; ignoring it")
        return {}


def _all(store: KeyringStore) -> dict[str, dict[str, Any]]:
    merged = _clean(read_state().get(STATE_KEY))
    for name, record in _from_keyring(store).items():
        if name not in merged or record["at"] > merged[name]["at"]:
            merged[name] = record
    return merged


def record(
    *,
    license_id: str | None,
    machine_id: str | None,
    at: int,
    reason: str,
    store: KeyringStore | None = None,
) -> None:
    """Remember a withdrawal the server signed (license-wide when ``license_id`` is given)."""
    store = store or KeyringStore()
    records = _all(store)
    name = _license_key(license_id) if license_id else _seat_key(machine_id or "")
    if not license_id and not machine_id:
        return
    records[name] = {"at": int(at), "reason": reason}
    if len(records) > MAX_RECORDS:  # keep the newest
        newest = sorted(records.items(), key=lambda item: item[1]["at"])[-MAX_RECORDS:]
        records = dict(newest)
    update_state(**{STATE_KEY: records})
    with contextlib.suppress(KeyringUnavailable):
        store.store_entry(WITHDRAWN_ENTRY, json.dumps(records, sort_keys=True))
    log.info("remembered a withdrawal (%s)", name)


def clear(license_id: str, store: KeyringStore | None = None) -> None:
    """The server vouches for ``license_id`` again (a signed activation or refresh succeeded)."""
    store = store or KeyringStore()
    records = _all(store)
    if _license_key(license_id) not in records:
        return
    del records[_license_key(license_id)]
    update_state(**{STATE_KEY: records})
    with contextlib.suppress(KeyringUnavailable):
        store.store_entry(WITHDRAWN_ENTRY, json.dumps(records, sort_keys=True))


def withdrawal_of(cert: Certificate, store: KeyringStore | None = None) -> Withdrawal | None:
    """The withdrawal that makes ``cert`` unusable, or None."""
    records = _all(store or KeyringStore())
    for name in (_license_key(cert.license_id), _seat_key(cert.machine_id)):
        found = records.get(name)
        if found is not None and cert.issued <= found["at"]:
            return Withdrawal(found["at"], found["reason"])
    return None
