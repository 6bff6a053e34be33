"""Sync errors. Each message is meant to be shown to the writer as it is."""

from __future__ import annotations


class SyncError(Exception):
    """Base class: sync stopped; local documents were left as they were."""


class RemoteUnreachable(SyncError):
    """The server could not be reached (offline, DNS, refused, timed out, dropped)."""


class RemoteAuthError(SyncError):
    """401/403: wrong user name or app password."""


class RemoteLocked(SyncError):
    """423: the server says the file is locked by someone else."""


class RemoteFull(SyncError):
    """507: the server has no space left."""


class RemotePreconditionFailed(SyncError):
    """412: a precondition (such as 'do not overwrite') did not hold."""


class RemoteServerError(SyncError):
    """5xx or another unexpected status."""


class RemoteNotFound(SyncError):
    """404 for something that must exist."""


class RemoteProtocolError(SyncError):
    """The server answered, but not like a WebDAV server (HTML login page, broken XML)."""


class RemoteNotSyncFolder(SyncError):
    """The folder is empty or is not a Draftsmith sync folder (wrong URL, unmounted drive)."""


class RemoteChanged(SyncError):
    """The folder now holds a different sync remote than the one this device joined."""


class RemoteTampered(SyncError):
    """Data from the server failed its integrity check (swapped, replayed or truncated)."""


class SyncStopped(SyncError):
    """Sync was stopped during a round; the next round resumes where this one stopped."""


class WrongPassphrase(SyncError):
    """The passphrase (or recovery key) does not open this remote's keys."""


class NotSetUp(SyncError):
    """Sync is not set up (or was turned off) on this device."""


class LocalLibraryMissing(SyncError):
    """The local library folder is missing (unmounted drive?)."""
