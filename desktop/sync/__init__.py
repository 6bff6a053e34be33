"""Qt-free end-to-end-encrypted sync engine and its WebDAV remote.

The editor needs only: ``create_remote`` / ``join_remote`` (set-up), ``SyncEngine`` with
``sync_once() -> SyncReport`` (``report.changed_paths`` are files to reload), ``history`` and
``restore``, and ``sync_allowed()``.

Names load on first use (PEP 562): the engine and its WebDAV client (requests, the crypto)
take ~0.3 s to import, and the editor's sync menu needs only the light modules until sync is
set up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inference.lazy_names import lazy_names

if TYPE_CHECKING:
    from desktop.sync.account import Connection, create_remote, join_remote
    from desktop.sync.crypto import KdfParams
    from desktop.sync.engine import SyncEngine, SyncReport
    from desktop.sync.entitlement import sync_allowed
    from desktop.sync.errors import SyncError, WrongPassphrase
    from desktop.sync.history import Version

# Each public name and the module that defines it.
_HOMES: dict[str, str] = {
    "Connection": "account",
    "create_remote": "account",
    "join_remote": "account",
    "KdfParams": "crypto",
    "SyncEngine": "engine",
    "SyncReport": "engine",
    "sync_allowed": "entitlement",
    "SyncError": "errors",
    "WrongPassphrase": "errors",
    "Version": "history",
}

__all__ = [
    "Connection",
    "KdfParams",
    "SyncEngine",
    "SyncError",
    "SyncReport",
    "Version",
    "WrongPassphrase",
    "create_remote",
    "join_remote",
    "sync_allowed",
]


__getattr__, __dir__ = lazy_names(globals(), _HOMES)
