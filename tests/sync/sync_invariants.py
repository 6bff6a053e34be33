"""Checks every multi-device test can make about what the writer sees after sync.

* The newest edit of each document is on every device: as the document itself or as a
  conflict copy (unless the writer deleted the document after that edit, or acted on the
  conflict copy that held it).
* No conflict copy holds the same bytes as its document (nor as another copy of it).
"""

from __future__ import annotations

import hashlib
import re

from desktop.sync.resolution import conflict_doc_id
from desktop.sync.state_db import Revision
from tests.sync.dav_harness import Device

_COPY = re.compile(
    r"^(?P<stem>.*) \(conflict from .*, \d{4}-\d\d-\d\d \d\d\.\d\d\)(?P<ext>\.[^./]*)?$"
)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _all_revisions(devices: list[Device]) -> dict[str, Revision]:
    found: dict[str, Revision] = {}
    for device in devices:
        state = device.engine.state
        for doc_id in state.all_doc_ids():
            for rev in state.revisions_of(doc_id):
                found.setdefault(rev.rev_id, rev)
    return found


def _ancestors(rev_id: str, revisions: dict[str, Revision]) -> set[str]:
    seen: set[str] = set()
    todo = [rev_id]
    while todo:
        current = revisions.get(todo.pop())
        if current is None:
            continue
        for parent in current.parents:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def newest_edit_missing(devices: list[Device]) -> list[str]:
    """Messages for each document whose newest edit's text is in some device's library
    neither as the document nor as a conflict copy."""
    revisions = _all_revisions(devices)
    by_doc: dict[str, list[Revision]] = {}
    for rev in revisions.values():
        by_doc.setdefault(rev.doc_id, []).append(rev)
    libraries = {
        d.name: {_sha(p.read_bytes()) for p in d.library.rglob("*") if p.is_file()} for d in devices
    }
    problems = []
    for doc_id, revs in sorted(by_doc.items()):
        if doc_id.startswith("c"):  # a conflict copy is checked through its document
            continue
        edits = [r for r in revs if not r.deleted and r.blob_rev == r.rev_id]
        if not edits:
            continue
        newest = max(edits, key=lambda r: (r.saved_at, r.lamport, r.device, r.rev_id))
        deleted_after = any(
            r.deleted and newest.rev_id in _ancestors(r.rev_id, revisions) for r in revs
        )
        copy_revs = by_doc.get(conflict_doc_id(doc_id, newest.rev_id), [])
        writer_touched_copy = len(copy_revs) > 1
        if deleted_after or writer_touched_copy:
            continue
        for name, shas in libraries.items():
            if newest.sha256 not in shas:
                problems.append(
                    f"{name}: the newest edit of {newest.path!r} (doc {doc_id[:8]}, "
                    f"by {newest.device[:8]}) is in no file"
                )
    return problems


def duplicate_conflict_copies(device: Device) -> list[str]:
    """Conflict copies whose bytes equal their document's or another copy's of it."""
    files = {
        p.relative_to(device.library).as_posix(): p.read_bytes()
        for p in device.library.rglob("*")
        if p.is_file() and not p.relative_to(device.library).as_posix().startswith(".")
    }
    problems = []
    seen: dict[tuple[str, bytes], str] = {}
    for rel, data in sorted(files.items()):
        match = _COPY.match(rel)
        if match is None:
            continue
        original = match["stem"] + (match["ext"] or "")
        if files.get(original) == data:
            problems.append(f"{device.name}: {rel!r} is byte-identical to {original!r}")
        key = (original, data)
        if key in seen:
            problems.append(f"{device.name}: {rel!r} is byte-identical to {seen[key]!r}")
        seen[key] = rel
    return problems
