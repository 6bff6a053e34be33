"""Reconciliation: bringing the library folder and the revision graph into line.

Pass 1 turns what changed on this disk (found by ``changes.detect_local_changes``) into new
revisions, their encrypted text staged right away; pass 2 writes what other devices changed
to disk: deletions first (behind the mass-delete guard), then documents, then conflict
copies, never over a file that changed since the scan. ``SyncEngine`` inherits this.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from desktop.sync import crypto, errors, library_files
from desktop.sync.changes import detect_local_changes
from desktop.sync.remote_store import RemoteStore
from desktop.sync.report import SyncReport
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
from desktop.sync.transfer import Transfers

log = logging.getLogger(__name__)

MASS_DELETE_COUNT = 10
MASS_DELETE_SHARE = 0.25

#: Called with the paths sync is about to delete; True deletes, False keeps (and restores
#: them on every device).
DeleteConfirmation = Callable[[list[str]], bool]


@dataclass
class _Plan:
    """Decisions for one doc, executed after the mass-delete guard has had its say."""

    remote_deletes: list[tuple[LocalDoc, Revision]] = field(default_factory=list)
    local_deletes: list[tuple[LocalDoc, list[Revision]]] = field(default_factory=list)


class Reconciler:
    """The reconcile half of ``SyncEngine`` (its base class): the engine sets these up."""

    state: StateDb
    store: RemoteStore
    library_root: Path
    device_id: str
    device_name: str
    staging: Path
    transfers: Transfers
    confirm_deletes: DeleteConfirmation | None
    clock: Callable[[], float]
    hold: set[str]
    in_use: set[str]
    _data_key: bytes

    # --- the revision graph's clock and names (fetch and publish use them too) -----------

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
        changes = detect_local_changes(self.state, self.library_root)
        files, tracked, hashes = changes.files, changes.tracked, changes.hashes
        untracked, missing = changes.untracked, changes.missing
        renames, adopted = changes.renames, changes.adopted

        plan = _Plan()
        copies: list[tuple[str, Revision]] = []
        done: set[str] = set()

        # --- pass 1: this disk's changes ---
        for doc_id, base in sorted(tracked.items()):
            changed = doc_id in renames or (
                doc_id not in missing and hashes[base.path] != base.sha256
            )
            if not changed and doc_id not in missing:
                continue  # unchanged here: no work per document in a quiet round
            heads = self.state.heads(doc_id)
            head_ids = [h.rev_id for h in heads] or [base.rev_id]
            if changed:
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
        # Only documents whose heads differ from this disk can need anything (one query).
        for doc_id in sorted(set(self.state.unsettled_doc_ids()) - done):
            self._take_back(doc_id, report, remote_ok)
        to_write: list[str] = []
        for doc_id in sorted(set(self.state.unsettled_doc_ids()) - done):
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
        self._prefetch(to_write, copies, remote_ok)
        # Documents before conflict copies: a copy is only worth writing once its document
        # shows the other text (see _echoes_a_document).
        for doc_id in sorted(to_write, key=lambda d: (is_conflict_copy(d), d)):
            on_disk = self.state.local_doc(doc_id)
            winner, _ = resolve(self.state.heads(doc_id))
            if winner is None or (on_disk is not None and winner.rev_id == on_disk.rev_id):
                continue
            if on_disk is None and self._echoes_a_document(winner):
                continue
            if on_disk is None and self._twin_of_a_document(winner):
                self._retire_copy(doc_id, None, report)
                continue
            written = self._materialize(winner, on_disk, report, remote_ok)
            if written and not is_conflict_copy(doc_id):
                self._retire_twin_copies(doc_id, report)
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
        if self.state.is_dropped(own.rev_id):
            return  # a compaction let this text go (an older one of its day or month)
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
        return self._document_holding_copy_text(rev) is False

    def _twin_of_a_document(self, rev: Revision) -> bool:
        """A conflict copy whose text its document shows as its winning text: the copy
        holds nothing the document does not (see ``_retire_twin_copies``)."""
        return self._document_holding_copy_text(rev) is True

    def _document_holding_copy_text(self, rev: Revision) -> bool | None:
        """For a conflict copy whose document on this disk holds the copy's text: whether
        that text is the document's winning one. None when ``rev`` is no such copy."""
        if not is_conflict_copy(rev.doc_id) or rev.blob_doc is None:
            return None
        source = self.state.local_doc(rev.blob_doc)
        if source is None or source.sha256 != rev.sha256:
            return None
        winner, _ = resolve(self.state.heads(source.doc_id))
        if winner is None:
            return None
        return winner.rev_id == source.rev_id

    def _retire_twin_copies(self, doc_id: str, report: SyncReport) -> None:
        """The document now shows a text that a conflict copy of it holds, e.g. a delete
        elsewhere let the edit that had lost the conflict win: the copy would be a twin of
        the document, so it goes (on every device, through the graph). A copy the writer
        changed holds more than that and stays; the text stays in the document's history."""
        local = self.state.local_doc(doc_id)
        if local is None or local.sha256 is None:
            return
        for rev in self.state.revisions_of(doc_id):
            if rev.deleted or rev.sha256 != local.sha256:
                continue
            copy_doc = conflict_doc_id(doc_id, rev.rev_id)
            heads = [h for h in self.state.heads(copy_doc) if not h.deleted]
            if heads and all(h.sha256 == local.sha256 for h in heads):
                self._retire_copy(copy_doc, heads, report)

    def _retire_copy(self, copy_doc: str, heads: list[Revision] | None, report: SyncReport) -> None:
        """Delete a conflict copy that is a twin of its document, unless its file changed."""
        heads = heads or [h for h in self.state.heads(copy_doc) if not h.deleted]
        on_disk = self.state.local_doc(copy_doc)
        if not heads or (
            on_disk is not None
            and (on_disk.path in self.hold or not self._unchanged_on_disk(on_disk))
        ):
            return
        with self.state.transaction():
            self.state.add_revision(self._delete_revision(copy_doc, heads), published=False)
            self.state.remove_local_doc(copy_doc)
        if on_disk is not None:
            library_files.on_disk(self.library_root, on_disk.path).unlink(missing_ok=True)
            report.deleted.append(on_disk.path)
        log.debug("retired conflict copy %s: its document shows its text", copy_doc)

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

    def _prefetch(
        self, to_write: list[str], copies: list[tuple[str, Revision]], remote_ok: bool
    ) -> None:
        """Download, in parallel, the blobs that writing these documents and copies needs."""
        if not remote_ok:
            return
        wanted = [r for r in (resolve(self.state.heads(d))[0] for d in to_write) if r] + [
            loser for _, loser in copies
        ]
        self.transfers.prefetch(
            {
                rev.blob: rev.blob_size
                for rev in wanted
                if rev.blob is not None and not (self.staging / f"{rev.blob_rev}.blob").exists()
            }
        )

    @contextlib.contextmanager
    def _plaintext(self, rev: Revision, remote_ok: bool) -> Iterator[Iterator[bytes]]:
        """Decrypted chunks of a revision: from this disk's staging area, from what
        ``_prefetch`` downloaded, or from the server."""
        assert rev.blob is not None and rev.blob_doc is not None and rev.blob_rev is not None
        staged = self.staging / f"{rev.blob_rev}.blob"
        if staged.exists():
            with staged.open("rb") as fh:
                yield crypto.decrypt_blob_chunks(self._data_key, rev.blob_doc, rev.blob_rev, fh)
            return
        if not remote_ok:
            raise FileNotFoundError(rev.blob)
        fetched = self.transfers.fetched(rev.blob)
        if fetched is not None:
            with fetched.open("rb") as fh:
                yield crypto.decrypt_blob_chunks(self._data_key, rev.blob_doc, rev.blob_rev, fh)
            fetched.unlink(missing_ok=True)
            return
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
            if current is None or self.state.is_dropped(current.rev_id):
                # Its stored text is gone (compacted): the next round records the file
                # again, as a new document with this text.
                self.state.remove_local_doc(doc.doc_id)
                report.kept.append(doc.path)
                continue
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
