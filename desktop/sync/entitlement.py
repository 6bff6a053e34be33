"""Whether this installation may use sync: a licensed feature, on during the trial.

The one place the sync code asks licensing; the UI shows ``reason`` when it is off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncPermission:
    allowed: bool
    reason: str


def sync_permission() -> SyncPermission:
    try:
        from licensing.client import feature_status
    except ImportError:  # a build without the licensing client: nothing to ask
        return SyncPermission(True, "")
    try:
        status = feature_status("sync")
    except Exception:  # a licensing failure must never break the editor
        log.exception("licensing check for sync failed")
        return SyncPermission(False, "Draftsmith could not check its license for sync.")
    return SyncPermission(bool(status.allowed), str(status.reason))


def sync_allowed() -> bool:
    return sync_permission().allowed
