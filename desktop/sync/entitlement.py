"""Whether this installation may use sync: the one licensing gate, asked for "sync".

The sync code asks here; the UI shows ``reason`` when it is off. The gate itself
(``licensing.client.feature_status``) is shared with AI and fails closed.
"""

from __future__ import annotations

from licensing.client import FeatureStatus, feature_status

# What the sync code calls a permission is the gate's answer, unchanged.
SyncPermission = FeatureStatus


def sync_permission() -> SyncPermission:
    return feature_status("sync")


def sync_allowed() -> bool:
    return sync_permission().allowed
