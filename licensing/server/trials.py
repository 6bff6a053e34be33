"""Trials, one per machine fingerprint (so reinstalling doesn't start a new one)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licensing.server.models import Trial


def start_of(session: Session, fingerprint: str, now: int) -> int:
    """When this machine's trial started: the first time it asked (recorded now if never)."""
    existing = session.get(Trial, fingerprint)
    if existing is not None:
        return existing.started_at
    try:
        with session.begin_nested():
            session.add(Trial(fingerprint=fingerprint, started_at=now))
    except IntegrityError:  # the same machine asked twice at once
        existing = session.get(Trial, fingerprint)
        if existing is None:
            raise
        return existing.started_at
    return now
