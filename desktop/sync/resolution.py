"""Which revision of a document is shown when devices disagree. Pure functions, no I/O.

Every device applies the same rule to the same set of revisions, so devices converge:
an edit beats a delete; among edits the highest (Lamport clock, device id, revision id)
wins; every other edited head with different text becomes a visible conflict copy.

A device where the document is open may answer a conflict that set its text aside with a
*take-back*: a revision of its own text over the other one (whose text becomes the copy).
Take-backs are marked by their id and are never taken back, so devices settle.
"""

from __future__ import annotations

import hashlib

from desktop.sync.state_db import Revision


def order_key(rev: Revision) -> tuple[int, str, str]:
    return (rev.lamport, rev.device, rev.rev_id)


def resolve(heads: list[Revision]) -> tuple[Revision | None, list[Revision]]:
    """(winner or None if deleted everywhere, losers that need a conflict copy)."""
    live = sorted((h for h in heads if not h.deleted), key=order_key)
    if not live:
        return None, []
    winner = live[-1]
    losers: list[Revision] = []
    seen = {winner.sha256}
    for head in live[:-1]:
        if head.sha256 not in seen:
            seen.add(head.sha256)
            losers.append(head)
    return winner, losers


def conflict_doc_id(doc_id: str, loser_rev: str) -> str:
    """Deterministic, so two devices that spot the same conflict create the same copy."""
    return "c" + hashlib.sha256(f"copy-doc|{doc_id}|{loser_rev}".encode()).hexdigest()[:31]


def is_conflict_copy(doc_id: str) -> bool:
    """Conflict copies have ids from ``conflict_doc_id``; documents start with "d"."""
    return doc_id.startswith("c")


def conflict_rev_id(doc_id: str, loser_rev: str) -> str:
    return "c" + hashlib.sha256(f"copy-rev|{doc_id}|{loser_rev}".encode()).hexdigest()[:31]


def rename_rev_id(doc_id: str, heads: list[str], new_path: str, *, take_back: bool = False) -> str:
    """A rename of a take-back stays a take-back (else the renamed text could be taken back)."""
    joined = "|".join(sorted(heads))
    digest = hashlib.sha256(f"rename|{doc_id}|{joined}|{new_path}".encode()).hexdigest()[:31]
    return ("t" if take_back else "r") + digest


def take_back_rev_id(doc_id: str, own_rev: str, heads: list[str]) -> str:
    joined = "|".join(sorted(heads))
    return "t" + hashlib.sha256(f"take-back|{doc_id}|{own_rev}|{joined}".encode()).hexdigest()[:31]


def is_take_back(rev_id: str) -> bool:
    """Other revision ids are hex (edits, deletes), or start with "c" (copies) or "r" (renames)."""
    return rev_id.startswith("t")
