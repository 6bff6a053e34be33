"""Checkpoints: the sync folder's state in one encrypted file, so a new device (or one away
so long that the logs it would need were pruned) starts from it instead of replaying every
log from the start.

    checkpoints/<n>    n = 1, 2, ...; the newest one counts

A checkpoint holds every version still kept (parents that a compaction dropped are replaced
by their nearest kept ancestors, so every device finds the same heads), the log positions it
covers (each with that entry's hash, so the next entry must chain onto it), how far each log
was pruned, the Lamport clock and the device names. It is sealed like a log entry (AES-GCM
with the data key) and bound to its name: a copy of an older checkpoint under a newer name
fails its check, and a device never starts from a checkpoint older than one it has seen.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass, field

from desktop.sync import crypto, errors, retention
from desktop.sync.remote_store import RemoteStore
from desktop.sync.state_db import Revision, StateDb

log = logging.getLogger(__name__)

FOLDER = "checkpoints"
KIND = "checkpoint"
MAX_BYTES = 512 * 1024 * 1024
SEEN = "checkpoint_seen"  # meta: the highest checkpoint number this device knows exists


@dataclass
class Checkpoint:
    number: int
    made_at: float
    made_by: str
    #: device -> (last log entry covered, that entry's hash)
    covers: dict[str, tuple[int, str]]
    #: device -> its log entries up to this number may be gone from the server
    pruned: dict[str, int]
    lamport: int
    device_names: dict[str, str] = field(default_factory=dict)
    revisions: list[Revision] = field(default_factory=list)
    #: The library's retention policy with its stamp (see ``retention.stamped``).
    retention: dict[str, object] | None = None
    #: Dropped revisions with derived ids (see ``derived_dropped``).
    dropped: list[str] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        data = {
            "v": 1,
            "number": self.number,
            "made_at": self.made_at,
            "made_by": self.made_by,
            "covers": {d: [s, h] for d, (s, h) in self.covers.items()},
            "pruned": self.pruned,
            "lamport": self.lamport,
            "device_names": self.device_names,
            "revisions": [r.to_json() for r in self.revisions],
            "retention": self.retention,
            "dropped": self.dropped,
        }
        return zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 6)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Checkpoint:
        data = json.loads(zlib.decompress(raw))
        return cls(
            number=int(data["number"]),
            made_at=float(data["made_at"]),
            made_by=str(data["made_by"]),
            covers={str(d): (int(v[0]), str(v[1])) for d, v in data["covers"].items()},
            pruned={str(d): int(v) for d, v in data["pruned"].items()},
            lamport=int(data["lamport"]),
            device_names={str(d): str(n) for d, n in data["device_names"].items()},
            revisions=[Revision.from_json(r) for r in data["revisions"]],
            retention=data.get("retention"),
            dropped=[str(r) for r in data.get("dropped", [])],
        )


def path(number: int) -> str:
    return f"{FOLDER}/{number:012d}"


def numbers(store: RemoteStore) -> list[int]:
    try:
        entries = store.client.list_folder(FOLDER)
    except errors.RemoteNotFound:
        return []
    return sorted(int(e.name) for e in entries if not e.is_dir and e.name.isdigit())


def read(store: RemoteStore, data_key: bytes, remote_id: str, number: int) -> Checkpoint:
    name = path(number)
    sealed = store.client.get(name, max_bytes=MAX_BYTES)
    plain = crypto.open_sealed(data_key, KIND, remote_id, name, sealed)
    try:
        checkpoint = Checkpoint.from_bytes(plain)
    except (ValueError, KeyError, TypeError, zlib.error) as exc:
        raise errors.RemoteTampered(
            f"The sync folder's checkpoint {number} is unreadable."
        ) from exc
    if checkpoint.number != number:
        raise errors.RemoteTampered(
            f"The sync folder's checkpoint {number} claims to be number {checkpoint.number}."
        )
    return checkpoint


def write(store: RemoteStore, data_key: bytes, remote_id: str, checkpoint: Checkpoint) -> None:
    store.client.mkcol(FOLDER)
    name = path(checkpoint.number)
    store.put_new(name, crypto.seal(data_key, KIND, remote_id, name, checkpoint.to_bytes()))


def kept_revisions(state: StateDb) -> list[Revision]:
    """Every revision not dropped, its dropped parents joined by their nearest kept
    ancestors. The dropped parent ids stay too: a revision with a derived id (a rename, a
    conflict copy, a take-back) may arrive again from another device's log, and must find
    its child there, not become a head again."""
    dropped = state.dropped()
    everything = state.all_revisions()
    by_id = {r.rev_id: r for r in everything}
    # A revision's Lamport clock is above its parents', so this order meets parents first.
    through: dict[str, list[str]] = {}
    for rev in sorted((r for r in everything if r.rev_id in dropped), key=lambda r: r.lamport):
        through[rev.rev_id] = _kept_ancestors(rev.parents, dropped, by_id, through)
    kept = []
    for rev in everything:
        if rev.rev_id in dropped:
            continue
        parents = list(rev.parents)
        for p in _kept_ancestors(rev.parents, dropped, by_id, through):
            if p not in parents:
                parents.append(p)
        kept.append(rev if list(rev.parents) == parents else _with_parents(rev, parents))
    return kept


def derived_dropped(state: StateDb) -> list[str]:
    """Dropped revisions whose ids are derived (see ``kept_revisions``), so a device that
    starts from the checkpoint knows them as dropped if they arrive again."""
    return sorted(r for r in state.dropped() if r[:1] in ("c", "r", "t"))


def _kept_ancestors(
    parents: tuple[str, ...],
    dropped: dict[str, tuple[str, int]],
    by_id: dict[str, Revision],
    through: dict[str, list[str]],
) -> list[str]:
    out: list[str] = []
    for parent in parents:
        replacement = through.get(parent, []) if parent in dropped and parent in by_id else [parent]
        for p in replacement:
            if p not in out:
                out.append(p)
    return out


def _with_parents(rev: Revision, parents: list[str]) -> Revision:
    data = rev.to_json()
    data["parents"] = parents
    return Revision.from_json(data)


def load_into(
    state: StateDb, checkpoint: Checkpoint, device_id: str, data_key: bytes, remote_id: str
) -> None:
    """Replace this device's published graph and cursors with the checkpoint's; its own
    unpublished revisions, its own log position and its own entries the checkpoint does not
    cover yet (read back from this disk) stay."""
    from desktop.sync.compaction import apply_intent  # compaction builds on this module

    own, _ = state.cursor(device_id)
    covered, _ = checkpoint.covers.get(device_id, (0, ""))
    with state.transaction():
        state.replace_published_graph(checkpoint.revisions)
        for rev_id in checkpoint.dropped:
            state.mark_dropped(rev_id, "checkpoint", checkpoint.number)
        for seq in range(covered + 1, own + 1):
            ciphertext = state.own_record(seq)
            if ciphertext is None:
                continue
            record = json.loads(
                crypto.decrypt_record(data_key, remote_id, device_id, seq, ciphertext)
            )
            for rev in record["revisions"]:
                state.add_revision(Revision.from_json(rev), published=True)
            apply_intent(state, device_id, seq, record)
        # Unsent revisions made while away that reuse a stored text (a conflict copy, a
        # rename on a name clash) whose text compaction has since removed: their files are
        # recorded again, with their own stored text, by the next round.
        stored = {r.blob for r in state.all_revisions() if r.blob and r.blob_rev == r.rev_id}
        stored |= {r.blob for r in checkpoint.revisions if r.blob}
        for rev in state.unpublished():
            if rev.blob is not None and rev.blob not in stored:
                state.forget_unpublished(rev.rev_id)
        for device, (seq, record_hash) in checkpoint.covers.items():
            if device != device_id:
                state.set_cursor(device, seq, record_hash)
        for device, upto in checkpoint.pruned.items():
            state.add_prune_announcement("checkpoint", checkpoint.number, device, upto)
        for device, name in checkpoint.device_names.items():
            if device != device_id:
                state.set(f"device_name:{device}", name[:80])
        state.set("lamport", str(max(state.get_int("lamport"), checkpoint.lamport)))
        retention.adopt(state, checkpoint.retention)
        state.set(SEEN, str(max(state.get_int(SEEN), checkpoint.number)))
        state.set("compaction_seen", "1")  # so it reports how far it reads (compaction)
        state.set("applied_urgent", "1")
        total = sum(seq for seq, _ in checkpoint.covers.values())
        state.set("compacted_total", str(max(state.get_int("compacted_total"), total)))


def bootstrap(
    state: StateDb,
    store: RemoteStore,
    data_key: bytes,
    remote_id: str,
    device_id: str,
    logs: dict[str, dict[int, int | None]],
) -> bool:
    """Start from the newest checkpoint when this device has read no other device's log and
    published nothing yet, or when the next entry it needs of some log was pruned while it
    was away. True if loaded.

    Raises RemoteTampered for a checkpoint that fails its check, is older than one this
    device has seen, or does not reach the log entries still on the server."""
    others = {d: sizes for d, sizes in logs.items() if d != device_id}
    fresh = not any(state.cursor(d)[0] for d in [*others, device_id])
    gap = {
        d: min(sizes)
        for d, sizes in others.items()
        if sizes and min(sizes) > state.cursor(d)[0] + 1
    }
    if not others or not (fresh or gap):
        return False
    available = numbers(store)
    if not available:
        return False  # nothing to start from: the fetch replays the logs (or reports gaps)
    newest = available[-1]
    seen = state.get_int(SEEN)
    if newest < seen:
        raise errors.RemoteTampered(
            f"The sync folder's newest checkpoint ({newest}) is older than one this device "
            f"has seen ({seen}): the server replayed an old one or lost the new one. "
            "Nothing was applied."
        )
    checkpoint = read(store, data_key, remote_id, newest)
    for device, first in gap.items():
        covered, _ = checkpoint.covers.get(device, (0, ""))
        if covered + 1 < first:
            raise errors.RemoteTampered(
                f"The sync folder's newest checkpoint ({newest}) does not reach the log "
                "entries still on the server (an old checkpoint replayed, or entries lost). "
                "Nothing was applied."
            )
    load_into(state, checkpoint, device_id, data_key, remote_id)
    log.info("started from checkpoint %s (%d versions)", newest, len(checkpoint.revisions))
    return True
