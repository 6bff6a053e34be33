"""The sync engine: one round is fetch -> reconcile the library folder -> publish.

* Fetch reads other devices' new log entries (in order, hash-chained, authenticated) into the
  revision graph in the state database. Nothing on disk changes yet.
* Reconcile (``changes`` detects, ``reconcile`` acts) scans the library folder, turns local
  edits into new revisions (their encrypted content is staged on this disk right away, so a
  saved version survives being offline), and writes what other devices changed to disk
  (never over a file that changed since the scan).
* Publish uploads staged blobs, then writes ONE log entry for this device: the commit point.
  Blobs go up and down several at a time (``transfer``).

Deletions only ever come from a delete recorded in a log, so an empty, new or different
remote cannot delete local documents; many deletions at once ask first. History lives in
``history``, the key files in ``keys``, the round's report in ``report``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from desktop.sync import (
    checkpoint,
    compaction,
    credentials,
    crypto,
    errors,
    history,
    keys,
    retention,
)
from desktop.sync.history import Version
from desktop.sync.reconcile import DeleteConfirmation, Reconciler
from desktop.sync.remote_store import RemoteStore
from desktop.sync.report import SyncReport
from desktop.sync.state_db import Revision, StateDb
from desktop.sync.transfer import DEFAULT_CONNECTIONS, Transfers, staged_uploads
from desktop.sync.webdav import WebDavClient

log = logging.getLogger(__name__)

TURNED_OFF = "Sync is turned off on this device."
PUBLISH_BATCH = 500  # revisions per log entry (an entry stays well under a megabyte)


class SyncEngine(Reconciler):
    """One device's sync with one remote, for one library folder.

    ``client`` and ``data_key`` default to the saved settings and the keyring; tests and
    the setup code pass them directly.
    """

    def __init__(
        self,
        state_path: Path,
        library_root: Path,
        *,
        client: WebDavClient | None = None,
        data_key: bytes | None = None,
        confirm_deletes: DeleteConfirmation | None = None,
        clock: Callable[[], float] = time.time,
        connections: int = DEFAULT_CONNECTIONS,
    ) -> None:
        self.state = StateDb(state_path)
        self.library_root = library_root
        self.device_id = self.state.get("device_id") or ""
        if not self.device_id or self.state.get("enabled") is None:
            self.state.close()
            raise errors.NotSetUp("Sync is not set up on this device.")
        # Read here and kept in step by turn_on/turn_off: the GUI thread asks for it often,
        # and must not query the SQLite connection the sync thread is using.
        self._enabled = self.state.get("enabled") == "1"
        self.remote_id = self.state.get("remote_id") or ""
        self.device_name = self.state.get("device_name") or self.device_id
        url = self.state.get("url") or ""
        user = self.state.get("user") or ""
        #: None: the secrets are in the OS keyring; else the file the writer chose instead.
        self.secrets_file = (
            credentials.secrets_file_for(state_path)
            if self.state.get("secrets") == "file"
            else None
        )
        if client is None:
            client = WebDavClient(
                url, user, credentials.load_app_password(url, user, self.secrets_file)
            )
        self.client = client
        self.store = RemoteStore(client, self.device_id)
        self._data_key = (
            data_key
            if data_key is not None
            else credentials.load_data_key(self.device_id, self.secrets_file)
        )
        self.confirm_deletes = confirm_deletes
        self.clock = clock
        #: Relative paths the editor holds unsaved edits for: sync leaves their files alone
        #: until they are saved, so the open document keeps the writer's text and the other
        #: version becomes the conflict copy. Set by the UI before each round.
        self.hold: set[str] = set()
        #: Relative paths of documents open in the editor (where the writer is working).
        #: When another device's edit set this device's text of one aside as a conflict
        #: copy, it takes its text back (see ``_take_back``). Set by the UI before each round.
        self.in_use: set[str] = set()
        self.staging = state_path.parent / f"{state_path.stem}-outgoing"
        self.staging.mkdir(parents=True, exist_ok=True)
        self.transfers = Transfers(self.store, self.staging / "incoming", connections)

    def close(self) -> None:
        self.transfers.close()
        self.state.close()
        self.client.close()

    def stop(self) -> None:
        """Stop the round under way soon (from any thread): transfers not started are
        dropped, those under way are cut. The next round resumes where this one stopped."""
        self.transfers.stop.set()

    @property
    def enabled(self) -> bool:
        return self._enabled

    # --- the round ---------------------------------------------------------------------

    def sync_once(self) -> SyncReport:
        """One full round. Errors end up in ``report.error`` (and the round stops safely)."""
        self.transfers.begin_round()
        try:
            report = self._round()
        finally:
            self.transfers.end_round()
        if report.error != TURNED_OFF:
            self.state.add_round(time.time(), report.to_json())
        return report

    def recent_rounds(self) -> list[tuple[float, SyncReport]]:
        """The last rounds' reports (paths and messages only), oldest first, for the log."""
        return [(at, SyncReport.from_json(text)) for at, text in self.state.rounds()]

    def _round(self) -> SyncReport:
        report = SyncReport()
        if not self.enabled:
            report.error = TURNED_OFF
            return report
        if not self.library_root.is_dir():
            report.error = str(
                errors.LocalLibraryMissing(
                    f"The library folder {self.library_root} is missing (unmounted drive?). "
                    "Nothing was synced."
                )
            )
            return report
        remote_ok = False  # the server is the one this device joined and answers
        fetched = False
        try:
            self._check_remote()
            remote_ok = True
            self._flush_outbox()
            self._fetch(report)
            fetched = True
        except errors.SyncError as exc:
            report.error = str(exc)
            log.warning("sync: %s", exc)
            if isinstance(exc, errors.RemoteUnreachable):
                remote_ok = False
        # Capture local edits even when offline, so each saved version is kept on this disk.
        try:
            self._reconcile(report, remote_ok)
        except errors.SyncError as exc:
            report.error = report.error or str(exc)
            log.warning("sync: %s", exc)
            return report
        if fetched:
            try:
                self._publish(report)
                self.store.clean_own_tmp()
            except errors.SyncError as exc:
                report.error = str(exc)
                log.warning("sync: %s", exc)
        if fetched and report.error is None:
            self._after_round(report)
        return report

    def _after_round(self, report: SyncReport) -> None:
        """Compact when due (at most daily, one device at a time), then tell compacting
        devices how far this one has read. A failure here is retried another day."""
        try:
            if compaction.due(self, self.clock()):
                compaction.compact(self)
            compaction.publish_applied(self)
        except errors.SyncError as exc:
            report.warnings.append(f"Compacting the sync folder stopped: {exc}")
            log.warning("compaction: %s", exc)

    def _check_remote(self) -> None:
        fmt = self.store.read_format()
        if fmt.remote_id != self.remote_id:
            raise errors.RemoteChanged(
                "The server folder now holds a different sync folder than the one this device "
                "joined. Nothing was changed; set sync up again if you moved it on purpose."
            )

    # --- fetch -------------------------------------------------------------------------

    def _fetch(self, report: SyncReport) -> None:
        listed = self.store.log_devices()
        logs = {d: self.store.log_sizes(d) for d in listed if d != self.device_id}
        # A new device, or one whose next entries were pruned while it was away, starts
        # from the newest checkpoint (see the checkpoint module).
        checkpoint.bootstrap(
            self.state, self.store, self._data_key, self.remote_id, self.device_id, logs
        )
        self._repair_own_log(listed, report)
        for device in sorted(set(self.state.known_devices()) - set(listed) - {self.device_id}):
            report.warnings.append(
                f"The server lost the log of device {self._device_name(device)}. "
                "Nothing was deleted."
            )
        # A compaction entry waits until the logs it was decided on are read here too, so
        # devices are read in passes until none moves on.
        waiting: dict[str, bytes] = {}
        moved = True
        while moved:
            moved = False
            for device, sizes in logs.items():
                seq, last_hash = self.state.cursor(device)
                while seq + 1 in sizes:
                    applied = self._fetch_record(
                        device, seq + 1, last_hash, sizes[seq + 1], waiting
                    )
                    if applied is None:
                        break
                    seq, last_hash = seq + 1, applied
                    moved = True
        for device, sizes in logs.items():
            seq, _ = self.state.cursor(device)
            top = max(sizes, default=0)
            if top < seq:
                report.warnings.append(
                    f"The server lost log entries of device {self._device_name(device)} "
                    f"(has {top}, this device saw {seq}). Nothing was deleted."
                )
            elif device in waiting:
                report.warnings.append(
                    f"Log entry {seq + 1} of device {self._device_name(device)} waits for "
                    "entries of other devices that are missing on the server."
                )
            elif seq < top:
                report.warnings.append(
                    f"Log entry {seq + 1} of device {self._device_name(device)} is missing "
                    "on the server; later entries wait for it."
                )

    def _repair_own_log(self, listed: list[str], report: SyncReport) -> None:
        """A server restored from an old backup may lack this device's latest entries; other
        devices would wait for them forever, so put them back (same bytes as before)."""
        own, _ = self.state.cursor(self.device_id)
        if own == 0:
            return
        if self.device_id in listed:
            present = set(self.store.log_seqs(self.device_id))
        else:
            self.client.mkcol(f"log/{self.device_id}")
            present = set()
        pruned = compaction.pruned_upto(self.state, self.device_id)
        missing = [n for n in range(pruned + 1, own + 1) if n not in present]
        for n in missing:
            ciphertext = self.state.own_record(n)
            if ciphertext is None:
                report.warnings.append(f"This device's log entry {n} is lost on the server.")
                continue
            self.store.put_new(self.store.log_path(self.device_id, n), ciphertext)
        if missing:
            report.warnings.append(
                f"The server had lost {len(missing)} of this device's log entries; "
                "they were uploaded again."
            )

    def _fetch_record(
        self, device: str, seq: int, prev_hash: str, size: int | None, waiting: dict[str, bytes]
    ) -> str | None:
        """Download and apply one log entry; None if it waits (kept in ``waiting``). A body
        cut short without Content-Length looks like damage: shorter than the listed size is
        a network failure, and an entry that fails its check is downloaded again; only the
        same bad bytes twice are the server's."""
        if device in waiting:
            return self._apply_record(device, seq, prev_hash, waiting.pop(device), waiting)
        path = self.store.log_path(device, seq)
        ciphertext = self.client.get(path)
        if size is not None and len(ciphertext) < size:
            raise errors.RemoteUnreachable(
                f"The download of log entry {seq} of device {self._device_name(device)} was "
                f"cut short ({len(ciphertext)} of {size} bytes; a network problem). "
                "Sync will try again."
            )
        try:
            return self._apply_record(device, seq, prev_hash, ciphertext, waiting)
        except errors.RemoteTampered:
            again = self.client.get(path)
            if again == ciphertext:
                raise
        try:
            return self._apply_record(device, seq, prev_hash, again, waiting)
        except errors.RemoteTampered as exc:
            raise errors.RemoteUnreachable(
                f"Log entry {seq} of device {self._device_name(device)} arrived damaged twice, "
                "differently each time (an unreliable connection). Sync will try again."
            ) from exc

    def _apply_record(
        self, device: str, seq: int, prev_hash: str, ciphertext: bytes, waiting: dict[str, bytes]
    ) -> str | None:
        plain = crypto.decrypt_record(self._data_key, self.remote_id, device, seq, ciphertext)
        try:
            record = json.loads(plain)
            revisions = [Revision.from_json(r) for r in record["revisions"]]
            chained = (
                record["prev"] == prev_hash and record["seq"] == seq and record["device"] == device
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise errors.RemoteTampered(
                f"Log entry {seq} of device {device} is unreadable."
            ) from exc
        if not chained:
            raise errors.RemoteTampered(
                f"Log entry {seq} of device {device} does not follow the entry before it "
                "(the server replayed or reordered entries). Nothing was applied."
            )
        if compaction.waits(self.state, record, self.device_id):
            waiting[device] = ciphertext
            return None
        record_hash = hashlib.sha256(ciphertext).hexdigest()
        with self.state.transaction():
            for rev in revisions:
                self.state.add_revision(rev, published=True)
            compaction.apply_intent(self.state, device, seq, record)
            retention.adopt(self.state, record.get("retention"))
            self.state.set_cursor(device, seq, record_hash)
            self.state.set(f"device_name:{device}", str(record.get("device_name", device))[:80])
            self.state.set("lamport", str(max(self._lamport(), int(record.get("lamport", 0)))))
        return record_hash

    # --- publish -----------------------------------------------------------------------

    def _publish(self, report: SyncReport) -> None:
        """Upload staged blobs, then commit them with a log entry, in batches: a long first
        sync commits as it goes, and no entry grows too large to read back."""
        self._flush_outbox()
        while revisions := self.state.unpublished()[:PUBLISH_BATCH]:
            self.transfers.upload(staged_uploads(self.staging, revisions))
            report.published_seq = self._commit_entry(revisions)
        if self.state.get(retention.UNSENT) == "1":
            report.published_seq = self._commit_entry(
                [], {"retention": retention.stamped(self.state)}
            )
            self.state.set(retention.UNSENT, "0")

    def _commit_entry(
        self, revisions: list[Revision], extra: dict[str, object] | None = None
    ) -> int:
        """Write this device's next log entry (its blobs are on the server already)."""
        self._flush_outbox()  # an entry a dropped connection left waiting goes first
        seq = self.state.get_int("next_seq", 1)
        _, prev = self.state.cursor(self.device_id)
        record = {
            "v": 1,
            "device": self.device_id,
            "device_name": self.device_name,
            "seq": seq,
            "prev": prev,
            "lamport": self._lamport(),
            "revisions": [r.to_json() for r in revisions],
            **(extra or {}),
        }
        plain = json.dumps(record, separators=(",", ":")).encode()
        ciphertext = crypto.encrypt_record(
            self._data_key, self.remote_id, self.device_id, seq, plain
        )
        with self.state.transaction():
            self.state.set_outbox(seq, ciphertext, [r.rev_id for r in revisions])
            # A compaction's announcements hold here as soon as they are sure to go out.
            compaction.apply_intent(self.state, self.device_id, seq, record)
        self._flush_outbox()
        return seq

    def _flush_outbox(self) -> None:
        pending = self.state.outbox()
        if pending is None:
            return
        seq, ciphertext, rev_ids = pending
        if self.state.get("log_folder") != "1":
            self.client.mkcol(f"log/{self.device_id}")
            self.state.set("log_folder", "1")
        self.store.put_new(self.store.log_path(self.device_id, seq), ciphertext)
        with self.state.transaction():
            self.state.mark_published(rev_ids)
            self.state.set_cursor(self.device_id, seq, hashlib.sha256(ciphertext).hexdigest())
            self.state.set("next_seq", str(seq + 1))
            self.state.add_own_record(seq, ciphertext)
            self.state.clear_outbox(seq)
        for rev_id in rev_ids:
            (self.staging / f"{rev_id}.blob").unlink(missing_ok=True)
            (self.staging / f"{rev_id}.tried").unlink(missing_ok=True)

    # --- history (see the history module) ------------------------------------------------

    def history(self, rel: str) -> list[Version]:
        """Saved versions of the document now (or last) at ``rel``, newest first."""
        return history.versions(self.state, rel, self._device_name)

    def deleted_documents(self) -> list[Version]:
        """Documents deleted everywhere, each with its last saved text, newest first."""
        return history.deleted_documents(self.state, self._device_name)

    def restore(self, rev_id: str) -> str:
        """Write an older version back to its document's file; the next round publishes it.

        Returns the path written. The current text stays in history, so nothing is lost.
        """
        return history.restore(
            self.state, self.library_root, rev_id, lambda rev: self._plaintext(rev, True)
        )

    # --- compaction (see the compaction, checkpoint and retention modules) ---------------

    @property
    def retention_policy(self) -> retention.RetentionPolicy:
        """How long old versions are kept on the server (this device's setting)."""
        return retention.load(self.state)

    def set_retention(self, policy: retention.RetentionPolicy) -> None:
        """Change how long old versions are kept, for the whole library: the next round
        tells the other devices (the latest change wins)."""
        retention.save(self.state, policy, self._new_lamport(), self.device_id)
        self.state.set("compaction_next_check", "0")

    def compact_now(self) -> compaction.CompactionResult | None:
        """Compact even if the sync folder was compacted today; call after a round. None if
        another device is compacting it right now."""
        if self.unsent_versions():
            raise errors.SyncError(
                "Some versions saved here have not reached the server yet; sync, then compact."
            )
        return compaction.compact(self, force=True)

    # --- keys and lifecycle ------------------------------------------------------------

    def change_passphrase(
        self, current: str, new: str, kdf: crypto.KdfParams | None = None
    ) -> None:
        """Re-wrap the data key under a new passphrase; other devices keep syncing."""
        keys.change_passphrase(self.store, self.remote_id, self._data_key, current, new, kdf)

    def unsent_versions(self) -> int:
        """Versions saved here that no other device has yet (offline since)."""
        return len(self.state.unpublished())

    def turn_off(self) -> None:
        """Stop syncing on this device. Local files stay; turning on resumes where it was."""
        self.state.set("enabled", "0")
        self._enabled = False

    def turn_on(self) -> None:
        self.state.set("enabled", "1")
        self._enabled = True

    def forget_device(self) -> None:
        """Remove this device's sync secrets and state. Local files stay; the remote keeps
        this device's past log (other devices need it for history)."""
        url, user = self.state.get("url") or "", self.state.get("user") or ""
        credentials.delete_data_key(self.device_id, self.secrets_file)
        credentials.delete_app_password(url, user, self.secrets_file)
        path = self.state.path
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        for staged in self.staging.glob("*"):
            if staged.is_file():
                staged.unlink()
            else:
                import shutil

                shutil.rmtree(staged, ignore_errors=True)
        self.staging.rmdir()
