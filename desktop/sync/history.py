"""History: every saved version of a document, documents deleted everywhere, and restoring
an older version to disk (the next round publishes it as an edit).

It only reads the revision graph; the engine passes its state, its device names and its
way to decrypt a revision's text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from desktop.sync import errors, library_files
from desktop.sync.resolution import order_key, resolve
from desktop.sync.state_db import LocalDoc, Revision, StateDb

#: A device's id -> the name it goes by.
DeviceName = Callable[[str], str]
#: A revision -> its decrypted text, in chunks.
Plaintext = Callable[[Revision], AbstractContextManager[Iterator[bytes]]]


@dataclass(frozen=True)
class Version:
    rev_id: str
    doc_id: str
    path: str
    saved_at: float
    device_name: str
    size: int | None
    deleted: bool
    current: bool


def versions(state: StateDb, rel: str, device_name: DeviceName) -> list[Version]:
    """Saved versions of the document now (or last) at ``rel``, newest first."""
    rel = library_files.normalize(rel)
    doc_id = next((d.doc_id for d in state.local_docs_at(rel) if d.path == rel), None)
    if doc_id is None:
        candidates = [
            r for d in state.all_doc_ids() for r in state.revisions_of(d) if r.path == rel
        ]
        if not candidates:
            return []
        doc_id = max(candidates, key=order_key).doc_id
    local = state.local_doc(doc_id)
    # Versions a compaction dropped (see ``retention``) have no text any more.
    revisions = [r for r in state.revisions_of(doc_id) if not state.is_dropped(r.rev_id)]
    return [
        Version(
            rev_id=r.rev_id,
            doc_id=r.doc_id,
            path=r.path,
            saved_at=r.saved_at,
            device_name=device_name(r.device),
            size=r.size,
            deleted=r.deleted,
            current=local is not None and local.rev_id == r.rev_id,
        )
        for r in sorted(revisions, key=lambda r: (r.saved_at, r.lamport), reverse=True)
    ]


def deleted_documents(state: StateDb, device_name: DeviceName) -> list[Version]:
    """Documents deleted everywhere, each with its last saved text, newest first."""
    found = []
    for doc_id in state.all_doc_ids():
        revisions = state.revisions_of(doc_id)
        winner, _ = resolve(state.heads(doc_id))
        live = [
            r
            for r in revisions
            if not r.deleted and r.blob is not None and not state.is_dropped(r.rev_id)
        ]
        if winner is not None or not live:
            continue
        last = max(live, key=order_key)
        found.append(
            Version(
                rev_id=last.rev_id,
                doc_id=doc_id,
                path=last.path,
                saved_at=last.saved_at,
                device_name=device_name(last.device),
                size=last.size,
                deleted=False,
                current=False,
            )
        )
    return sorted(found, key=lambda v: v.saved_at, reverse=True)


def restore(state: StateDb, library_root: Path, rev_id: str, plaintext: Plaintext) -> str:
    """Write an older version back to its document's file; the next round publishes it.

    Returns the path written. The current text stays in history, so nothing is lost.
    """
    rev = state.revision(rev_id)
    if rev is None or rev.deleted or rev.blob is None or state.is_dropped(rev_id):
        raise errors.SyncError("That version has no text to restore.")
    local = state.local_doc(rev.doc_id)
    rel = local.path if local is not None else library_files.local_name(rev.path)
    if not library_files.safe_relative(rel):
        raise errors.SyncError(f"That version has an unsafe name ({rel!r}); not restored.")
    target = library_files.on_disk(library_root, rel)
    if local is None and target.exists():
        taken = {d.path for d in state.local_docs()}
        rel = library_files.free_name(library_root, rel, taken)
        target = library_files.on_disk(library_root, rel)
    with plaintext(rev) as chunks:
        library_files.atomic_write_chunks(target, chunks)
    if local is None:
        # A deleted document comes back as itself: the next round records this text as
        # an edit after the delete (an edit beats a delete on every device).
        heads = state.heads(rev.doc_id)
        latest = max(heads, key=order_key).rev_id if heads else rev.rev_id
        state.set_local_doc(LocalDoc(rev.doc_id, rel, latest, None, None, None))
    return rel
