"""The sync engine: one round is fetch -> reconcile the library folder -> publish.

* Fetch reads other devices' new log entries (in order, hash-chained, authenticated) into the
  revision graph in the state database. Nothing on disk changes yet.
* Reconcile scans the library folder, turns local edits into new revisions (their encrypted
  content is staged on this disk right away, so a saved version survives being offline), and
  writes what other devices changed to disk (never over a file that changed since the scan).
* Publish uploads staged blobs, then writes ONE log entry for this device: the commit point.

Deletions only ever come from a delete recorded in a log, so an empty, new or different
remote cannot delete local documents; many deletions at once ask first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from desktop.sync import credentials, crypto, errors, history, keys, library_files
from desktop.sync.history import Version
from desktop.sync.remote_store import RemoteStore
from desktop.sync.resolution import (
    conflict_doc_id,
    conflict_rev_id,
    is_conflict_copy,
    is_take_back,
    order_key,
    rename_rev_id,
    resolve,
    take_back_rev_id,
)
from desktop.sync.state_db import LocalDoc, Revision, StateDb
from desktop.sync.webdav import WebDavClient

log = logging.getLogger(__name__)

MASS_DELETE_COUNT = 10
MASS_DELETE_SHARE = 0.25
TURNED_OFF = "Sync is turned off on this device."
PUBLISH_BATCH = 500  # revisions per log entry (an entry stays well under a megabyte)

#: Called with the paths sync is about to delete; True deletes, False keeps (and restores
#: them on every device).
DeleteConfirmation = Callable[[list[str]], bool]


@dataclass
class SyncReport:
    """What one round did, for the status log and for the editor (reload changed paths)."""

    uploaded: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    deletions_waiting: list[str] = field(default_factory=list)
    skipped_busy: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    published_seq: int | None = None

    @property
    def changed_paths(self) -> list[str]:
        """Paths whose file on disk sync changed (written, removed or moved away/to)."""
        moved = [p for pair in self.renamed for p in pair]
        return sorted({*self.downloaded, *self.deleted, *self.conflicts, *moved})

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SyncReport:
        data = json.loads(text)
        data["renamed"] = [tuple(pair) for pair in data.get("renamed", [])]
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class _Plan:
    """Decisions for one doc, executed after the mass-delete guard has had its say."""

    remote_deletes: list[tuple[LocalDoc, Revision]] = field(default_factory=list)
    local_deletes: list[tuple[LocalDoc, list[Revision]]] = field(default_factory=list)


class SyncEngine:
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
    ) -> None:
        self.state = StateDb(state_path)
        self.library_root = library_root
        self.device_id = self.state.get("device_id") or ""
        if not self.device_id or self.state.get("enabled") is None:
            self.state.close()
            raise errors.NotSetUp("Sync is not set up on this device.")
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

    def close(self) -> None:
        self.state.close()
        self.client.close()

    @property
    def enabled(self) -> bool:
        return self.state.get("enabled") == "1"

    # --- the round ---------------------------------------------------------------------

    def sync_once(self) -> SyncReport:
        """One full round. Errors end up in ``report.error`` (and the round stops safely)."""
        report = self._round()
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
        return report

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
        self._repair_own_log(listed, report)
        for device in sorted(set(self.state.known_devices()) - set(listed) - {self.device_id}):
            report.warnings.append(
                f"The server lost the log of device {self._device_name(device)}. "
                "Nothing was deleted."
            )
        for device in listed:
            if device == self.device_id:
                continue
            sizes = self.store.log_sizes(device)
            seqs = sorted(sizes)
            seq, last_hash = self.state.cursor(device)
            top = max(seqs, default=0)
            if top < seq:
                report.warnings.append(
                    f"The server lost log entries of device {self._device_name(device)} "
                    f"(has {top}, this device saw {seq}). Nothing was deleted."
                )
                continue
            present = set(seqs)
            while seq + 1 in present:
                seq += 1
                last_hash = self._fetch_record(device, seq, last_hash, sizes[seq])
            if seq < top:
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
        missing = [n for n in range(1, own + 1) if n not in present]
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

    def _fetch_record(self, device: str, seq: int, prev_hash: str, size: int | None) -> str:
        """Download and apply one log entry. A body cut short without Content-Length looks
        like damage: shorter than the listed size is a network failure, and an entry that
        fails its check is downloaded again; only the same bad bytes twice are the server's."""
        path = self.store.log_path(device, seq)
        ciphertext = self.client.get(path)
        if size is not None and len(ciphertext) < size:
            raise errors.RemoteUnreachable(
                f"The download of log entry {seq} of device {self._device_name(device)} was "
                f"cut short ({len(ciphertext)} of {size} bytes; a network problem). "
                "Sync will try again."
            )
        try:
            return self._apply_record(device, seq, prev_hash, ciphertext)
        except errors.RemoteTampered:
            again = self.client.get(path)
            if again == ciphertext:
                raise
        try:
            return self._apply_record(device, seq, prev_hash, again)
        except errors.RemoteTampered as exc:
            raise errors.RemoteUnreachable(
                f"Log entry {seq} of device {self._device_name(device)} arrived damaged twice, "
                "differently each time (an unreliable connection). Sync will try again."
            ) from exc

    def _apply_record(self, device: str, seq: int, prev_hash: str, ciphertext: bytes) -> str:
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
        record_hash = hashlib.sha256(ciphertext).hexdigest()
        with self.state.transaction():
            for rev in revisions:
                self.state.add_revision(rev, published=True)
            self.state.set_cursor(device, seq, record_hash)
            self.state.set(f"device_name:{device}", str(record.get("device_name", device))[:80])
            self.state.set("lamport", str(max(self._lamport(), int(record.get("lamport", 0)))))
        return record_hash

    def _device_name(self, device: str) -> str:
        if device == self.device_id:
            return self.device_name
        return self.state.get(f"device_name:{device}") or device

    def _lamport(self) -> int:
        return max(self.state.get_int("lamport"), self.state.max_lamport())

    # --- reconcile ---------------------------------------------------------------------

    def _reconcile(self, report: SyncReport, remote_ok: bool) -> None:
        """Pass 1 records what changed on this disk; pass 2 brings other devices' changes
        here: deletions first (behind the guard), then writes, then conflict copies."""
        root = self.library_root
        files = library_files.scan(root)
        tracked = {d.doc_id: d for d in self.state.local_docs()}
        by_path = {d.path: d for d in tracked.values()}
        hashes: dict[str, str] = {}
        for rel, fs in files.items():
            known = by_path.get(rel)
            if known is not None and known.size == fs.size and known.mtime_ns == fs.mtime_ns:
                hashes[rel] = known.sha256 or ""
            else:
                hashes[rel] = library_files.sha256_file(library_files.on_disk(root, rel))
        untracked = {rel for rel in files if rel not in by_path}
        missing = {d.doc_id for d in tracked.values() if d.path not in files}

        # A missing document whose exact text appears under a new name was renamed.
        renames: dict[str, str] = {}
        for doc_id in sorted(missing):
            doc = tracked[doc_id]
            for rel in sorted(untracked):
                if hashes[rel] == doc.sha256 and rel not in renames.values():
                    renames[doc_id] = rel
                    break
        untracked -= set(renames.values())
        missing -= set(renames)

        # Untracked files sitting where a known document lives are local versions of it.
        live_paths: dict[str, str] = {}
        for doc_id in self.state.all_doc_ids():
            if doc_id not in tracked:
                winner, _ = resolve(self.state.heads(doc_id))
                if winner is not None:
                    live_paths.setdefault(winner.path, doc_id)
        adopted = {rel: live_paths[rel] for rel in sorted(untracked) if rel in live_paths}
        untracked -= set(adopted)

        plan = _Plan()
        copies: list[tuple[str, Revision]] = []
        done: set[str] = set()

        # --- pass 1: this disk's changes ---
        for doc_id, base in sorted(tracked.items()):
            heads = self.state.heads(doc_id)
            head_ids = [h.rev_id for h in heads] or [base.rev_id]
            if doc_id in renames or (doc_id not in missing and hashes[base.path] != base.sha256):
                rel = renames.get(doc_id, base.path)
                copies.extend(
                    (doc_id, h)
                    for h in heads
                    if h.rev_id != base.rev_id and not h.deleted and h.sha256 != hashes[rel]
                )
                self._capture(doc_id, rel, files[rel], hashes[rel], head_ids, report)
                if rel != base.path:
                    report.renamed.append((base.path, rel))
                done.add(doc_id)
            elif doc_id in missing:
                if head_ids == [base.rev_id]:
                    plan.local_deletes.append((base, heads))
                    done.add(doc_id)
                else:
                    # Changed elsewhere meanwhile: an edit there beats the delete here,
                    # pass 2 brings it back; a delete there simply agrees.
                    self.state.remove_local_doc(doc_id)
        for rel, doc_id in adopted.items():
            heads = self.state.heads(doc_id)
            winner, losers = resolve(heads)
            if winner is not None and winner.sha256 == hashes[rel] and not losers:
                self._track(winner, rel, files[rel], hashes[rel])
            else:
                copies.extend(
                    (doc_id, h) for h in heads if not h.deleted and h.sha256 != hashes[rel]
                )
                self._capture(
                    doc_id, rel, files[rel], hashes[rel], [h.rev_id for h in heads], report
                )
            done.add(doc_id)
        for rel in sorted(untracked):
            self._capture("d" + secrets.token_hex(16), rel, files[rel], hashes[rel], [], report)

        # --- pass 2: other devices' changes ---
        for doc_id in sorted(set(self.state.all_doc_ids()) - done):
            self._take_back(doc_id, report, remote_ok)
        to_write: list[str] = []
        for doc_id in sorted(set(self.state.all_doc_ids()) - done):
            on_disk = self.state.local_doc(doc_id)
            heads = self.state.heads(doc_id)
            winner, losers = resolve(heads)
            copies.extend((doc_id, h) for h in losers)
            if winner is None:
                if on_disk is not None:
                    plan.remote_deletes.append((on_disk, next(h for h in heads if h.deleted)))
            elif on_disk is None or winner.rev_id != on_disk.rev_id:
                to_write.append(doc_id)
        self._guarded_deletes(plan, len(tracked), report, remote_ok)
        # Documents before conflict copies: a copy is only worth writing once its document
        # shows the other text (see _echoes_a_document).
        for doc_id in sorted(to_write, key=lambda d: (is_conflict_copy(d), d)):
            on_disk = self.state.local_doc(doc_id)
            winner, _ = resolve(self.state.heads(doc_id))
            if winner is None or (on_disk is not None and winner.rev_id == on_disk.rev_id):
                continue
            if on_disk is None and self._echoes_a_document(winner):
                continue
            self._materialize(winner, on_disk, report, remote_ok)
        for doc_id, loser in copies:
            self._conflict_copy(doc_id, loser, report, remote_ok)

    def _take_back(self, doc_id: str, report: SyncReport, remote_ok: bool) -> None:
        """Keep the writer's text in a document open here when a conflict set it aside.

        Applies when this disk shows text written on this device, the document is open, and
        another device's edit won over it while that text became (or is about to become) a
        conflict copy. Then a take-back revision of this text goes over the winner, the copy
        of this text goes away, and the winner's text becomes the copy, named after its
        device. Every device applies the graph the same way, so all end with the same files;
        a take-back is never taken back, so devices do not pull the document to and fro.
        """
        local = self.state.local_doc(doc_id)
        if (
            local is None
            or is_conflict_copy(doc_id)
            or local.path not in self.in_use
            or local.path in self.hold
        ):
            return
        heads = self.state.heads(doc_id)
        winner, losers = resolve(heads)
        own = self.state.revision(local.rev_id)
        if winner is None or own is None or own.deleted or winner.rev_id == own.rev_id:
            return
        origin = self.state.revision(own.blob_rev) if own.blob_rev else None
        if (
            origin is None
            or origin.device != self.device_id
            or winner.device == self.device_id
            or is_take_back(winner.rev_id)
            or winner.sha256 == own.sha256
            or library_files.local_name(winner.path).casefold() != local.path.casefold()
            or not self._unchanged_on_disk(local)
        ):
            return
        own_copy = conflict_doc_id(doc_id, own.rev_id)
        set_aside = own in losers or bool(self.state.revisions_of(own_copy))
        if not set_aside:
            return  # the other device edited after seeing this text: it simply follows
        head_ids = [h.rev_id for h in heads]
        taken = Revision.reusing(
            own,
            rev_id=take_back_rev_id(doc_id, own.rev_id, head_ids),
            doc_id=doc_id,
            parents=head_ids,
            path=winner.path,
            lamport=self._new_lamport(),
            device=self.device_id,
        )
        with self.state.transaction():
            self.state.add_revision(taken, published=False)
            self.state.set_local_doc(dataclasses.replace(local, rev_id=taken.rev_id))
            copy_heads = [h for h in self.state.heads(own_copy) if not h.deleted]
            # This text is the document again, so its copy would be a twin; a copy the
            # writer changed meanwhile holds more than that and stays.
            if copy_heads and all(h.sha256 == own.sha256 for h in copy_heads):
                self.state.add_revision(
                    self._delete_revision(own_copy, copy_heads), published=False
                )
        log.debug("took back %s over %s (open here)", doc_id, winner.device)
        for head in heads:
            if not head.deleted and head.sha256 != own.sha256:
                self._conflict_copy(doc_id, head, report, remote_ok)

    def _delete_revision(self, doc_id: str, heads: list[Revision]) -> Revision:
        current = max(heads, key=order_key)
        return Revision.deletion(
            rev_id=secrets.token_hex(16),
            doc_id=doc_id,
            parents=[h.rev_id for h in heads],
            lamport=self._new_lamport(),
            device=self.device_id,
            path=current.path,
            saved_at=self.clock(),
        )

    def _new_lamport(self) -> int:
        value = self._lamport() + 1
        self.state.set("lamport", str(value))
        return value

    def _capture(
        self,
        doc_id: str,
        rel: str,
        fs: library_files.FileState,
        sha: str,
        parents: list[str],
        report: SyncReport,
    ) -> None:
        """Make a revision of the file as it is now; its encrypted text is staged right away."""
        rev_id = secrets.token_hex(16)
        staged = self.staging / f"{rev_id}.blob"
        source = library_files.on_disk(self.library_root, rel)
        try:
            with source.open("rb") as src, staged.open("wb") as sink:
                blob, blob_size = crypto.encrypt_blob(self._data_key, doc_id, rev_id, src, sink)
                stat = source.stat()
        except OSError as exc:
            staged.unlink(missing_ok=True)
            report.skipped_busy.append(rel)
            log.info("could not read %s for sync: %s", rel, exc)
            return
        if stat.st_mtime_ns != fs.mtime_ns or stat.st_size != fs.size:
            # Saved again while we read it; the next round takes the newer text.
            staged.unlink(missing_ok=True)
            report.skipped_busy.append(rel)
            return
        rev = Revision.edit(
            rev_id=rev_id,
            doc_id=doc_id,
            parents=parents,
            lamport=self._new_lamport(),
            device=self.device_id,
            path=rel,
            blob=blob,
            blob_size=blob_size,
            sha256=sha,
            size=fs.size,
            saved_at=self.clock(),
        )
        with self.state.transaction():
            self.state.add_revision(rev, published=False)
            self.state.set_local_doc(LocalDoc(doc_id, rel, rev_id, sha, fs.size, fs.mtime_ns))
        report.uploaded.append(rel)

    def _track(self, rev: Revision, rel: str, fs: library_files.FileState, sha: str) -> None:
        self.state.set_local_doc(LocalDoc(rev.doc_id, rel, rev.rev_id, sha, fs.size, fs.mtime_ns))

    def _conflict_copy(
        self, doc_id: str, loser: Revision, report: SyncReport, remote_ok: bool
    ) -> None:
        copy_doc = conflict_doc_id(doc_id, loser.rev_id)
        if self.state.revisions_of(copy_doc):
            return
        when = time.strftime("%Y-%m-%d %H.%M", time.localtime(loser.saved_at))
        path = library_files.conflict_name(loser.path, self._device_name(loser.device), when)
        rev = Revision.reusing(
            loser,
            rev_id=conflict_rev_id(doc_id, loser.rev_id),
            doc_id=copy_doc,
            parents=[],
            path=path,
            lamport=loser.lamport,
            device=loser.device,
        )
        self.state.add_revision(rev, published=False)
        if self._echoes_a_document(rev):
            return  # written by a later round, once its document shows the winning text
        if self._materialize(rev, None, report, remote_ok):
            report.conflicts.append(self.state.local_doc(copy_doc).path)  # type: ignore[union-attr]

    def _echoes_a_document(self, rev: Revision) -> bool:
        """A conflict copy whose text its document on this disk still holds, because that
        document's winning text could not be written yet (download cut short, file busy,
        offline). Writing it now would show the writer two identical files; a later round
        writes it, once the document shows the winner."""
        if not is_conflict_copy(rev.doc_id) or rev.blob_doc is None:
            return False
        source = self.state.local_doc(rev.blob_doc)
        if source is None or source.sha256 != rev.sha256:
            return False
        winner, _ = resolve(self.state.heads(source.doc_id))
        return winner is not None and winner.rev_id != source.rev_id

    def _occupant(self, rel: str, doc_id: str) -> tuple[LocalDoc, bool] | None:
        """Another document whose file is at ``rel`` (case-insensitively), and whether it
        is still alive (not deleted elsewhere)."""
        for doc in self.state.local_docs_at(rel):
            if doc.doc_id != doc_id:
                if not library_files.on_disk(self.library_root, doc.path).exists():
                    return None
                winner, _ = resolve(self.state.heads(doc.doc_id))
                return doc, winner is not None
        return None

    def _materialize(
        self, rev: Revision, base: LocalDoc | None, report: SyncReport, remote_ok: bool
    ) -> bool:
        """Write ``rev`` to disk in place of ``base`` (its older local copy). False if skipped."""
        root = self.library_root
        if not library_files.safe_relative(rev.path):
            report.warnings.append(f"Ignored a document with an unsafe name: {rev.path!r}")
            log.warning("refusing to write outside the library: %r", rev.path)
            return False
        if base is not None and (base.path in self.hold or not self._unchanged_on_disk(base)):
            report.skipped_busy.append(base.path)
            return False
        rel = library_files.local_name(rev.path)
        occupant = self._occupant(rel, rev.doc_id)
        if occupant is not None:
            # Two documents want one name: the larger doc id yields, on every device alike.
            taken = {d.path for d in self.state.local_docs()} | {rel}
            other, alive = occupant
            if alive and rev.doc_id < other.doc_id:
                self._move_aside(other, taken, report)
            else:
                new_rel = library_files.free_name(root, rel, taken)
                rev = self._rename_revision(rev, new_rel)
                rel = new_rel
        elif (base is None or base.path.casefold() != rel.casefold()) and library_files.on_disk(
            root, rel
        ).exists():
            taken = {d.path for d in self.state.local_docs()} | {rel}
            new_rel = library_files.free_name(root, rel, taken)
            rev = self._rename_revision(rev, new_rel)
            rel = new_rel
        target = library_files.on_disk(root, rel)

        def still_ok() -> bool:
            # Checked just before the rename: the writer may have saved in the meantime.
            if base is not None and not self._unchanged_on_disk(base):
                return False
            moving = base is None or base.path.casefold() != rel.casefold()
            return not (moving and target.exists())

        try:
            with self._plaintext(rev, remote_ok) as chunks:
                written = library_files.atomic_write_chunks(target, chunks, rev.sha256, still_ok)
        except FileNotFoundError:
            report.warnings.append(f"{rev.path}: its text is not available yet (offline).")
            return False
        except library_files.ContentMismatch as exc:
            raise errors.RemoteTampered(f"{rev.path}: {exc}") from exc
        if written is None:
            report.skipped_busy.append(rel)
            return False
        sha, size = written
        if base is not None and base.path != rel:
            old = library_files.on_disk(root, base.path)
            # On a case-insensitive disk a case-only rename wrote over the old name itself.
            if old.exists() and not os.path.samefile(old, target):
                old.unlink()
            report.renamed.append((base.path, rel))
        stat = library_files.on_disk(root, rel).stat()
        self.state.set_local_doc(LocalDoc(rev.doc_id, rel, rev.rev_id, sha, size, stat.st_mtime_ns))
        report.downloaded.append(rel)
        return True

    def _rename_revision(self, rev: Revision, new_rel: str) -> Revision:
        heads = [h.rev_id for h in self.state.heads(rev.doc_id)] or [rev.rev_id]
        renamed = Revision.reusing(
            rev,
            rev_id=rename_rev_id(rev.doc_id, heads, new_rel, take_back=is_take_back(rev.rev_id)),
            doc_id=rev.doc_id,
            parents=heads,
            path=new_rel,
            lamport=self._new_lamport(),
            device=self.device_id,
        )
        self.state.add_revision(renamed, published=False)
        return renamed

    def _move_aside(self, doc: LocalDoc, taken: set[str], report: SyncReport) -> None:
        """Move another document's file off a name that ``doc``'s rival takes.

        The file on this disk may be older than that document's newest revision (a rename
        or edit on another device not written here yet). Its text must never be published
        as new: only the document's current winner may be renamed, and only when the
        winner still wants this name; otherwise the file just moves out of the way and the
        winner is written over it as usual.
        """
        root = self.library_root
        new_rel = library_files.free_name(root, doc.path, taken)
        winner, _ = resolve(self.state.heads(doc.doc_id))
        assert winner is not None  # only live documents are moved aside
        rev_id = doc.rev_id
        if library_files.local_name(winner.path).casefold() == doc.path.casefold():
            renamed = self._rename_revision(winner, new_rel)
            if winner.rev_id == doc.rev_id:
                rev_id = renamed.rev_id
        source = library_files.on_disk(root, doc.path)
        target = library_files.on_disk(root, new_rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        source.replace(target)
        stat = target.stat()
        self.state.set_local_doc(
            LocalDoc(doc.doc_id, new_rel, rev_id, doc.sha256, stat.st_size, stat.st_mtime_ns)
        )
        report.renamed.append((doc.path, new_rel))

    def _unchanged_on_disk(self, doc: LocalDoc) -> bool:
        path = library_files.on_disk(self.library_root, doc.path)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return False
        if stat.st_size == doc.size and stat.st_mtime_ns == doc.mtime_ns:
            return True
        return library_files.sha256_file(path) == doc.sha256

    @contextlib.contextmanager
    def _plaintext(self, rev: Revision, remote_ok: bool) -> Iterator[Iterator[bytes]]:
        """Decrypted chunks of a revision, from this disk's staging area or from the server."""
        assert rev.blob is not None and rev.blob_doc is not None and rev.blob_rev is not None
        staged = self.staging / f"{rev.blob_rev}.blob"
        if staged.exists():
            with staged.open("rb") as fh:
                yield crypto.decrypt_blob_chunks(self._data_key, rev.blob_doc, rev.blob_rev, fh)
            return
        if not remote_ok:
            raise FileNotFoundError(rev.blob)
        with tempfile.TemporaryDirectory(dir=self.staging) as tmp:
            download = Path(tmp) / "blob"
            self.store.fetch_blob(rev.blob, download, rev.blob_size)
            with download.open("rb") as fh:
                yield crypto.decrypt_blob_chunks(self._data_key, rev.blob_doc, rev.blob_rev, fh)

    # --- deletions and the guard -------------------------------------------------------

    def _guarded_deletes(
        self, plan: _Plan, total: int, report: SyncReport, remote_ok: bool
    ) -> None:
        count = len(plan.remote_deletes) + len(plan.local_deletes)
        if count == 0:
            return
        many = count > MASS_DELETE_COUNT or (
            count >= 3 and count > MASS_DELETE_SHARE * max(total, 1)
        )
        if many:
            paths = sorted(
                [d.path for d, _ in plan.remote_deletes] + [d.path for d, _ in plan.local_deletes]
            )
            if self.confirm_deletes is None:
                report.deletions_waiting.extend(paths)
                report.warnings.append(
                    f"{count} documents would be deleted; waiting for your confirmation."
                )
                return
            if not self.confirm_deletes(paths):
                self._keep(plan, report, remote_ok)
                return
        for doc, delete_rev in plan.remote_deletes:
            if doc.path in self.hold or not self._unchanged_on_disk(doc):
                report.skipped_busy.append(doc.path)
                continue
            library_files.on_disk(self.library_root, doc.path).unlink(missing_ok=True)
            self.state.remove_local_doc(doc.doc_id)
            report.deleted.append(doc.path)
            log.debug("deleted %s (deleted on %s)", doc.doc_id, delete_rev.device)
        for doc, heads in plan.local_deletes:
            current = heads[0]
            rev = Revision.deletion(
                rev_id=secrets.token_hex(16),
                doc_id=doc.doc_id,
                parents=[current.rev_id],
                lamport=self._new_lamport(),
                device=self.device_id,
                path=current.path,
                saved_at=self.clock(),
            )
            with self.state.transaction():
                self.state.add_revision(rev, published=False)
                self.state.remove_local_doc(doc.doc_id)
            report.uploaded.append(doc.path)

    def _keep(self, plan: _Plan, report: SyncReport, remote_ok: bool) -> None:
        """The writer said keep: deleted-elsewhere files are re-published, missing ones restored."""
        for doc, delete_rev in plan.remote_deletes:
            current = self.state.revision(doc.rev_id)
            assert current is not None
            rev = Revision.reusing(
                current,
                rev_id=secrets.token_hex(16),
                doc_id=doc.doc_id,
                parents=[delete_rev.rev_id],
                path=doc.path,
                lamport=self._new_lamport(),
                device=self.device_id,
            )
            with self.state.transaction():
                self.state.add_revision(rev, published=False)
                self.state.set_local_doc(
                    LocalDoc(doc.doc_id, doc.path, rev.rev_id, doc.sha256, doc.size, doc.mtime_ns)
                )
            report.kept.append(doc.path)
        for doc, heads in plan.local_deletes:
            self.state.remove_local_doc(doc.doc_id)
            if self._materialize(heads[0], None, report, remote_ok):
                report.kept.append(doc.path)

    # --- publish -----------------------------------------------------------------------

    def _publish(self, report: SyncReport) -> None:
        """Upload staged blobs, then commit them with a log entry, in batches: a long first
        sync commits as it goes, and no entry grows too large to read back."""
        self._flush_outbox()
        while revisions := self.state.unpublished()[:PUBLISH_BATCH]:
            for rev in revisions:
                staged = self.staging / f"{rev.rev_id}.blob"
                if rev.blob is not None and rev.blob_rev == rev.rev_id and staged.exists():
                    tried = staged.with_suffix(".tried")
                    maybe_there = tried.exists()
                    tried.touch()
                    self.store.put_blob(staged, rev.blob, rev.blob_size or 0, maybe_there)
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
            }
            plain = json.dumps(record, separators=(",", ":")).encode()
            ciphertext = crypto.encrypt_record(
                self._data_key, self.remote_id, self.device_id, seq, plain
            )
            self.state.set_outbox(seq, ciphertext, [r.rev_id for r in revisions])
            self._flush_outbox()
            report.published_seq = seq

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

    def turn_on(self) -> None:
        self.state.set("enabled", "1")

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
