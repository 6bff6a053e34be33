"""Whether this installation may use sync (a licensed feature; on during the trial)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def sync_allowed() -> bool:
    """Ask the licensing client for the ``sync`` entitlement once it offers that question.

    Until licensing.client exposes an entitlement check this returns True (the trial
    behaviour); the lead wires the real call here, in one place.
    """
    try:
        from licensing import client as licensing_client
    except ImportError:
        return True
    check = getattr(licensing_client, "is_entitled", None)
    if callable(check):
        try:
            return bool(check("sync"))
        except Exception:
            log.exception("licensing check for sync failed; treating sync as allowed")
            return True
    return True
