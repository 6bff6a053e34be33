"""Blob uploads and downloads over a bounded pool of connections.

* Upload: every blob of a batch is on the server before ``upload`` returns; the engine
  writes the batch's log entry only after that, so an entry never names a missing blob.
  Blobs an interrupted round may already have sent are found with ONE listing of
  ``blobs/`` (not a request per blob) and are not sent again.
* Download: blobs the round is about to write land in ``incoming/`` under their hash, only
  once verified (``RemoteStore.fetch_blob`` tells a cut download from a damaged blob). A
  round that stops part-way leaves the verified ones there; the next round does not fetch
  them again.
* ``stop``: setting it drops what has not started and cuts what is under way at its next
  chunk; the round ends with ``SyncStopped`` and nothing half-done is used.

The first failure stops the rest of a batch from starting (a dead server fails once, not
once per blob); the caller sees that failure, as it would have one transfer at a time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from desktop.sync import errors
from desktop.sync.remote_store import STOPPED, RemoteStore
from desktop.sync.state_db import Revision

log = logging.getLogger(__name__)

#: Connections used at once. Enough to hide a far server's round trips, few enough that a
#: home NAS or a hosted WebDAV account does not throttle or refuse us.
DEFAULT_CONNECTIONS = 6
#: At least this many blobs that an earlier try may have sent: list ``blobs/`` once
#: instead of asking about each.
LIST_AT = 16


@dataclass(frozen=True)
class Upload:
    """A staged, encrypted blob to put on the server."""

    staged: Path
    digest: str
    size: int

    @property
    def tried(self) -> Path:
        """Marker: an upload of this blob began before, so it may be on the server already."""
        return self.staged.with_suffix(".tried")


def staged_uploads(staging: Path, revisions: Iterable[Revision]) -> list[Upload]:
    """The blobs of ``revisions`` that this device staged (and so must upload)."""
    uploads = []
    for rev in revisions:
        staged = staging / f"{rev.rev_id}.blob"
        if rev.blob is not None and rev.blob_rev == rev.rev_id and staged.exists():
            uploads.append(Upload(staged, rev.blob, rev.blob_size or 0))
    return uploads


class Transfers:
    """Parallel blob transfers for one engine (its pool lives as long as the engine)."""

    def __init__(
        self, store: RemoteStore, incoming: Path, connections: int = DEFAULT_CONNECTIONS
    ) -> None:
        self.store = store
        self.incoming = incoming
        self.connections = max(1, connections)
        #: Set from any thread to stop the round's transfers (see the module docstring).
        self.stop = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._failed: dict[str, errors.SyncError] = {}

    def begin_round(self) -> None:
        self.stop.clear()
        self._failed = {}

    def end_round(self) -> None:
        self._failed = {}  # a later restore fetches afresh rather than repeat an old error

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    # --- running jobs ------------------------------------------------------------------

    def _run(self, jobs: list[tuple[str, Callable[[], None]]]) -> dict[str, errors.SyncError]:
        """Run jobs (key, call) on the pool; returns the failures by key. After the first
        failure (or ``stop``), jobs not yet started are skipped."""
        failures: dict[str, errors.SyncError] = {}
        halt = threading.Event()

        def one(key: str, call: Callable[[], None]) -> None:
            if halt.is_set():
                return
            if self.stop.is_set():
                failures[key] = errors.SyncStopped(STOPPED)
                halt.set()
                return
            try:
                call()
            except errors.SyncError as exc:
                failures[key] = exc
                halt.set()

        if self.connections == 1 or len(jobs) <= 1:
            for key, call in jobs:
                one(key, call)
            return failures
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.connections, thread_name_prefix="sync-transfer")
        futures = [self._pool.submit(one, key, call) for key, call in jobs]
        for future in futures:
            future.result()  # re-raises a bug (not a SyncError) here, on the engine's thread
        return failures

    def _first(self, failures: dict[str, errors.SyncError], order: list[str]) -> None:
        if not failures:
            return
        if self.stop.is_set():
            raise errors.SyncStopped(STOPPED)
        raise next(failures[key] for key in order if key in failures)

    # --- upload ------------------------------------------------------------------------

    def upload(self, uploads: list[Upload]) -> None:
        """Put every blob on the server; returns only when all of them are there."""
        maybe = {u.digest for u in uploads if u.tried.exists()}
        listed: dict[str, int | None] | None = None
        if len(maybe) >= LIST_AT:
            listed = self.store.blob_sizes()
        jobs = []
        for u in uploads:
            there = u.digest in maybe
            if listed is not None and there:
                if listed.get(u.digest) == u.size:
                    continue  # sent whole by an earlier try
                there = u.digest in listed  # a damaged copy: put_blob replaces it
            jobs.append((u.digest, self._upload_job(u, there)))
        if len(jobs) < len(uploads):
            log.info(
                "resuming: %d of %d blobs already on the server",
                len(uploads) - len(jobs),
                len(uploads),
            )
        self._first(self._run(jobs), [u.digest for u in uploads])

    def _upload_job(self, u: Upload, maybe_there: bool) -> Callable[[], None]:
        def job() -> None:
            u.tried.touch()
            self.store.put_blob(u.staged, u.digest, u.size, maybe_there, stop=self.stop)

        return job

    # --- download ----------------------------------------------------------------------

    def prefetch(self, blobs: dict[str, int | None]) -> None:
        """Download these blobs (hash -> size) into ``incoming/``, verified, in parallel.

        Blobs already there from an earlier round are kept; others there are removed. A
        failure is not raised here: ``fetched`` raises it when the round reaches that
        document, so everything before it is written as it would have been."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        self._failed = {}
        present = set()
        for entry in os.scandir(self.incoming):
            if entry.name in blobs:
                present.add(entry.name)
            else:
                Path(entry.path).unlink(missing_ok=True)  # superseded, or a cut .part
        jobs = [
            (digest, self._download_job(digest, size))
            for digest, size in sorted(blobs.items())
            if digest not in present
        ]
        self._failed = self._run(jobs)
        if self.stop.is_set():
            raise errors.SyncStopped(STOPPED)

    def _download_job(self, digest: str, size: int | None) -> Callable[[], None]:
        def job() -> None:
            part = self.incoming / f"{digest}.part"
            try:
                self.store.fetch_blob(digest, part, size, stop=self.stop)
                part.replace(self.incoming / digest)
            finally:
                part.unlink(missing_ok=True)

        return job

    def fetched(self, digest: str) -> Path | None:
        """The verified download of ``digest``; None if it was not prefetched (fetch it
        now); raises the error its prefetch met."""
        failure = self._failed.pop(digest, None)
        if failure is not None:
            raise failure
        path = self.incoming / digest
        return path if path.exists() else None
