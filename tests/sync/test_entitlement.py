"""Sync asks licensing for the ``sync`` entitlement; during the trial it is on."""

from __future__ import annotations

from desktop.sync.entitlement import sync_allowed, sync_permission


def test_sync_is_allowed_during_the_trial() -> None:
    permission = sync_permission()
    assert permission.allowed, permission.reason
    assert sync_allowed() is True


def test_sync_is_off_with_a_reason_after_the_trial(memory_keyring) -> None:
    import time

    from licensing.client import invalidate_status_cache

    long_ago = str(int(time.time()) - 30 * 86400)
    memory_keyring.set_password("Draftsmith", "trial-started", long_ago)
    invalidate_status_cache()
    try:
        permission = sync_permission()
        assert not permission.allowed
        assert "trial has ended" in permission.reason
    finally:
        invalidate_status_cache()
