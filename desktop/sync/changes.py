"""Detecting what changed in the library folder since the last round (reads only).

Compares the files on disk with the documents this device last wrote or recorded there:
changed, missing, renamed (the same text under a new name), new, and new files sitting
where another device's live document belongs. Acting on it is ``reconcile``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from desktop.sync import library_files
from desktop.sync.resolution import resolve
from desktop.sync.state_db import LocalDoc, StateDb


@dataclass
class LocalChanges:
    """The library folder compared with this device's record of it."""

    #: Every document file now on disk, by relative path.
    files: dict[str, library_files.FileState]
    #: The documents this device last wrote or recorded on disk, by doc id.
    tracked: dict[str, LocalDoc]
    #: The SHA-256 of every file in ``files`` (reused when size and mtime are unchanged).
    hashes: dict[str, str]
    #: Files no document owns: new documents.
    untracked: set[str]
    #: Tracked documents whose file is gone (and not renamed): deleted here.
    missing: set[str]
    #: doc id -> its new path, for a missing document whose exact text is at a new name.
    renames: dict[str, str]
    #: path -> doc id, for an untracked file where a document this device does not track
    #: lives: a local version of that document.
    adopted: dict[str, str]


def detect_local_changes(state: StateDb, library_root: Path) -> LocalChanges:
    """Scan ``library_root`` and compare it with ``state``'s record; changes nothing."""
    root = library_root
    files = library_files.scan(root)
    tracked = {d.doc_id: d for d in state.local_docs()}
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
    for doc_id in state.all_doc_ids() if untracked else []:
        if doc_id not in tracked:
            winner, _ = resolve(state.heads(doc_id))
            if winner is not None:
                live_paths.setdefault(winner.path, doc_id)
    adopted = {rel: live_paths[rel] for rel in sorted(untracked) if rel in live_paths}
    untracked -= set(adopted)
    return LocalChanges(files, tracked, hashes, untracked, missing, renames, adopted)
