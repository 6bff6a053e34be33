"""Which revision of a document is shown when devices disagree. Pure functions, no I/O.

Every device applies the same rule to the same set of revisions, so devices converge:
an edit beats a delete; among edits the highest (Lamport clock, device id, revision id)
wins; every other edited head with different text becomes a visible conflict copy.
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


def rename_rev_id(doc_id: str, heads: list[str], new_path: str) -> str:
    joined = "|".join(sorted(heads))
    return "r" + hashlib.sha256(f"rename|{doc_id}|{joined}|{new_path}".encode()).hexdigest()[:31]
