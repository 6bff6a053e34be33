"""Qt-free end-to-end-encrypted sync engine and its WebDAV remote.

The editor needs only: ``create_remote`` / ``join_remote`` (set-up), ``SyncEngine`` with
``sync_once() -> SyncReport`` (``report.changed_paths`` are files to reload), ``history`` and
``restore``, and ``sync_allowed()``.
"""

from desktop.sync.account import Connection, create_remote, join_remote
from desktop.sync.crypto import KdfParams
from desktop.sync.engine import SyncEngine, SyncReport
from desktop.sync.entitlement import sync_allowed
from desktop.sync.errors import SyncError, WrongPassphrase
from desktop.sync.history import Version

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
