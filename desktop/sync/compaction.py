"""Compaction: keeping the sync folder small over years without any device losing a version
it has not seen.

    applied/<device>-<gen>   how far that device has read every log, and the older versions
                             it still has on disk (sealed; the highest gen counts)
    compaction/<device>      that device's lease: compacting until a time, or done at a time
    checkpoints/<n>          see ``checkpoint``

At most once a day, as part of a normal round, one device (the one holding the lease) does:

1. Delete what earlier compactions announced, once every device has read the announcement:
   blobs that only dropped versions use, log entries every device had read and the newest
   checkpoint covers (the newest entry of each log always stays), older checkpoints.
2. Decide which versions the retention policy drops (never a current text, nor one still on
   some device's disk) and how far each log may be pruned (what every device has read),
   and announce both in one entry of its own log. Other devices apply that entry only once
   they have read everything the compacting device had read, so a dropped version is never
   a current text anywhere.
3. Write a checkpoint of the state after that entry, so new devices start there.

A device that has not synced for ``GONE_AFTER_DAYS`` (the time in its newest applied
position; it never wrote one: since the compacting device first noticed it) no longer holds
deletions back; if it comes back, it starts again
from the newest checkpoint (its own unsent edits are kept and sent).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from desktop.sync import checkpoint, crypto, errors, retention
from desktop.sync.state_db import StateDb

if TYPE_CHECKING:
    from desktop.sync.engine import SyncEngine

log = logging.getLogger(__name__)

APPLIED = "applied"
LEASES = "compaction"
DAY = 86400.0
LEASE_SECONDS = 2 * 3600.0
GONE_AFTER_DAYS = 180
#: A device republishes its applied position at most this often (sooner once it has read a
#: compaction's announcement, so deletions need not wait).
APPLIED_EVERY = 3600.0
#: Compact when this many log entries were written since the last checkpoint, or when the
#: retention policy has versions to drop, or announced deletions wait.
MIN_NEW_ENTRIES = 200
#: A device that syncs but has nothing new to report still says so this often, so a quiet
#: library's devices are never taken for gone.
REFRESH_APPLIED = 7 * DAY


@dataclass(frozen=True)
class Applied:
    device: str
    gen: int
    at: float
    cursors: dict[str, int]
    holding: list[str]
    name: str = ""


@dataclass
class CompactionResult:
    checkpoint: int | None = None
    dropped: int = 0
    blobs_deleted: int = 0
    entries_deleted: int = 0
    checkpoints_deleted: int = 0
    #: Devices whose applied position holds deletions back (never synced since, or away).
    waiting_for: list[str] = field(default_factory=list)
    #: Devices away longer than GONE_AFTER_DAYS: no longer waited for.
    gone: list[str] = field(default_factory=list)


# --- announcements in log entries (every device) -------------------------------------------


def waits(state: StateDb, record: dict[str, Any], device_id: str) -> bool:
    """A compaction entry is applied only once this device has read every log as far as the
    compacting device had: then nothing it drops is a current text here."""
    basis = record.get("basis") or {}
    return any(
        state.cursor(str(d))[0] < int(s)
        for d, s in basis.items()
        if d not in (device_id, record.get("device"))
    )


def apply_intent(state: StateDb, device: str, seq: int, record: dict[str, Any]) -> None:
    """Record a compaction's announcements (inside the caller's transaction)."""
    if "basis" not in record:
        return
    for rev_id in record.get("drop") or []:
        state.mark_dropped(str(rev_id), device, seq)
    for log_device, upto in (record.get("prune") or {}).items():
        state.add_prune_announcement(device, seq, str(log_device), int(upto))
    number = int(record.get("checkpoint") or 0)
    state.set(checkpoint.SEEN, str(max(state.get_int(checkpoint.SEEN), number)))
    total = sum(int(s) for s in record["basis"].values())
    state.set("compacted_total", str(max(state.get_int("compacted_total"), total)))
    state.set("compaction_seen", "1")
    state.set("applied_urgent", "1")


def pruned_upto(state: StateDb, device: str) -> int:
    """This log's entries up to here may be gone from the server, by design."""
    return max((u for _, _, d, u in state.prune_announcements() if d == device), default=0)


# --- applied positions -------------------------------------------------------------------


def _applied_name(device: str, gen: int) -> str:
    return f"{APPLIED}/{device}-{gen:012d}"


def publish_applied(engine: SyncEngine) -> None:
    """After a clean round: tell compacting devices how far this one has read (only once the
    sync folder is compacted at all, and only when it changed)."""
    state = engine.state
    if state.get("compaction_seen") != "1" or state.unpublished() or state.outbox():
        return
    cursors = {d: state.cursor(d)[0] for d in state.known_devices()}
    cursors[engine.device_id] = state.cursor(engine.device_id)[0]
    body = {"cursors": cursors, "holding": state.behind_local_revisions()}
    written = json.dumps(body, sort_keys=True)
    now = engine.clock()
    since = now - float(state.get("applied_at") or 0)
    if written == state.get("applied_written") and since < REFRESH_APPLIED:
        return
    if state.get("applied_urgent") != "1" and since < APPLIED_EVERY:
        return
    gen = state.get_int("applied_gen") + 1
    name = _applied_name(engine.device_id, gen)
    payload = json.dumps(
        {"device": engine.device_id, "name": engine.device_name, "gen": gen, "at": now, **body}
    ).encode()
    if state.get("applied_folder") != "1":
        engine.client.mkcol(APPLIED)
        state.set("applied_folder", "1")
    engine.store.put_new(
        name, crypto.seal(engine._data_key, "applied", engine.remote_id, name, payload)
    )
    with state.transaction():
        state.set("applied_gen", str(gen))
        state.set("applied_written", written)
        state.set("applied_at", str(now))
        state.set("applied_urgent", "0")
    if gen > 1:
        engine.client.delete(_applied_name(engine.device_id, gen - 1))


def read_applied(engine: SyncEngine) -> dict[str, Applied]:
    """Every other device's newest applied position; a file that fails its check counts as
    missing (which only holds deletions back)."""
    try:
        entries = engine.client.list_folder(APPLIED)
    except errors.RemoteNotFound:
        return {}
    newest: dict[str, int] = {}
    for entry in entries:
        device, _, number = entry.name.rpartition("-")
        if device and number.isdigit() and device != engine.device_id:
            newest[device] = max(newest.get(device, 0), int(number))
    found = {}
    for device, gen in newest.items():
        name = _applied_name(device, gen)
        try:
            sealed = engine.client.get(name, max_bytes=16 * 1024 * 1024)
            data = json.loads(
                crypto.open_sealed(engine._data_key, "applied", engine.remote_id, name, sealed)
            )
            if data["device"] != device or int(data["gen"]) != gen:
                raise ValueError("name")
            found[device] = Applied(
                device=device,
                gen=gen,
                at=float(data["at"]),
                cursors={str(d): int(s) for d, s in data["cursors"].items()},
                holding=[str(r) for r in data["holding"]],
                name=str(data.get("name") or device)[:80],
            )
        except (errors.RemoteTampered, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring the applied position of %s: %s", device, exc)
        except errors.RemoteNotFound:
            continue
    return found


def _away(
    engine: SyncEngine, devices: set[str], applied: dict[str, Applied], now: float
) -> set[str]:
    """Devices that have not synced for GONE_AFTER_DAYS: by the time in their newest applied
    position, or, for one that never wrote one, since this device first noticed it."""
    gone = set()
    for device in devices:
        if device in applied:
            since = applied[device].at
        else:
            key = f"first_noticed:{device}"
            if engine.state.get(key) is None:
                engine.state.set(key, str(now))
            since = float(engine.state.get(key) or now)
        if now - since > GONE_AFTER_DAYS * DAY:
            gone.add(device)
    return gone


# --- the lease ---------------------------------------------------------------------------


def _lease_name(device: str) -> str:
    return f"{LEASES}/{device}"


def _leases(engine: SyncEngine) -> dict[str, dict[str, Any]]:
    try:
        entries = engine.client.list_folder(LEASES)
    except errors.RemoteNotFound:
        return {}
    found = {}
    for entry in entries:
        if entry.is_dir:
            continue
        name = _lease_name(entry.name)
        try:
            sealed = engine.client.get(name, max_bytes=64 * 1024)
            found[entry.name] = json.loads(
                crypto.open_sealed(engine._data_key, "lease", engine.remote_id, name, sealed)
            )
        except (errors.RemoteTampered, errors.RemoteNotFound, ValueError) as exc:
            log.info("ignoring lease %s: %s", entry.name, exc)
    return found


def _write_lease(engine: SyncEngine, lease: dict[str, Any]) -> None:
    name = _lease_name(engine.device_id)
    if engine.state.get("lease_folder") != "1":
        engine.client.mkcol(LEASES)
        engine.state.set("lease_folder", "1")
    engine.client.delete(name)
    payload = json.dumps({"device": engine.device_id, **lease}).encode()
    engine.store.put_new(
        name, crypto.seal(engine._data_key, "lease", engine.remote_id, name, payload)
    )


def take_lease(engine: SyncEngine, now: float, force: bool = False) -> bool:
    """True if this device may compact now: nobody compacted in the last day (unless
    ``force``) and nobody else holds an unexpired lease. A device that dies while compacting
    holds it only until it expires."""

    def blocked(leases: dict[str, dict[str, Any]], mine_too: bool) -> float | None:
        for device, lease in sorted(leases.items()):
            done = float(lease.get("done_at") or 0)
            if not force and done > now - DAY:
                return done + DAY
            running = not done and float(lease.get("expires_at") or 0) > now
            if running and device != engine.device_id and (mine_too or device < engine.device_id):
                return float(lease["expires_at"])
        return None

    until = blocked(_leases(engine), True)
    if until is not None:
        engine.state.set("compaction_next_check", str(until))
        return False
    _write_lease(engine, {"started_at": now, "expires_at": now + LEASE_SECONDS})
    # Two devices may have written at once: the smaller device id goes ahead.
    others = {d: le for d, le in _leases(engine).items() if d != engine.device_id}
    until = blocked(others, False)
    if until is not None:
        engine.client.delete(_lease_name(engine.device_id))
        engine.state.set("compaction_next_check", str(until))
        return False
    return True


# --- when ----------------------------------------------------------------------------------


def _heads(state: StateDb) -> set[str]:
    return {h.rev_id for doc in state.all_doc_ids() for h in state.heads(doc)}


def _to_drop(engine: SyncEngine, now: float, holding: set[str]) -> set[str]:
    state = engine.state
    keep = _heads(state) | {d.rev_id for d in state.local_docs()} | holding
    dropped = state.dropped()
    candidates = [r for r in state.all_revisions() if r.rev_id not in dropped]
    return retention.versions_to_drop(candidates, keep, now, retention.load(state))


def due(engine: SyncEngine, now: float) -> bool:
    """Worth compacting now? Local checks only (no request), at most once a day."""
    state = engine.state
    if state.get("compaction") == "off":
        return False
    if now < float(state.get("compaction_next_check") or 0):
        return False
    written = sum(state.cursor(d)[0] for d in {*state.known_devices(), engine.device_id})
    worth = (
        written - state.get_int("compacted_total") >= MIN_NEW_ENTRIES
        or state.get("cleanup_pending") == "1"
        or bool(_to_drop(engine, now, set()))
    )
    if not worth:
        state.set("compaction_next_check", str(now + DAY))
    return worth


# --- the compaction ------------------------------------------------------------------------


def compact(engine: SyncEngine, force: bool = False) -> CompactionResult | None:
    """Compact if this device gets the lease; None if another device has it (or compacted
    within the day). Call after a clean round (fetched and published)."""
    now = engine.clock()
    if engine.state.unpublished():
        return None  # publish first: a checkpoint holds only what is in the logs
    if not take_lease(engine, now, force):
        return None
    result = _run(engine, now)
    _write_lease(engine, {"started_at": now, "done_at": now})
    engine.state.set("compaction_next_check", str(now + DAY))
    log.info("compacted: %s", result)
    return result


def _run(engine: SyncEngine, now: float) -> CompactionResult:
    state, store = engine.state, engine.store
    result = CompactionResult()
    applied = read_applied(engine)
    listed = set(store.log_devices())
    others = (listed | set(applied) | set(state.known_devices())) - {engine.device_id}
    gone = _away(engine, others, applied, now)
    active = others - gone

    def name(device: str) -> str:
        return applied[device].name if device in applied else engine._device_name(device)

    result.gone = sorted(name(d) for d in gone)
    missing = sorted(d for d in active if d not in applied)
    result.waiting_for = [name(d) for d in missing]
    own = {d: state.cursor(d)[0] for d in {*state.known_devices(), engine.device_id}}
    positions = [applied[d].cursors for d in active if d in applied] + [own]

    def everyone_read(device: str, seq: int) -> bool:
        return not missing and all(p.get(device, 0) >= seq for p in positions)

    # 1. Carry out earlier announcements every device has read.
    behind = [d for d in active if d in applied and own.get(d, 0) < applied[d].cursors.get(d, 0)]
    cleanup_left = bool(missing or behind)
    if not missing and not behind:
        result.blobs_deleted = _delete_blobs(engine, everyone_read)
    numbers = checkpoint.numbers(store)
    if numbers and not missing:
        newest = checkpoint.read(store, engine._data_key, engine.remote_id, numbers[-1])
        result.entries_deleted = _prune_logs(engine, listed, newest, everyone_read)

    # 2. Decide and announce.
    holding = {r for d in active if d in applied for r in applied[d].holding}
    drop = _to_drop(engine, now, holding)
    prune: dict[str, int] = {}
    if not missing:
        for device in listed:
            upto = min(p.get(device, 0) for p in positions)
            if upto > pruned_upto(state, device):
                prune[device] = upto
    number = max([*numbers, state.get_int(checkpoint.SEEN)]) + 1
    record = {
        "drop": sorted(drop),
        "prune": prune,
        "checkpoint": number,
        "basis": {d: s for d, s in own.items() if s},
    }
    engine._commit_entry([], record)
    state.set("cleanup_pending", "1" if (drop or prune or cleanup_left) else "0")
    result.dropped = len(drop)

    # 3. The checkpoint of the state after that entry; older ones go.
    covers = {d: state.cursor(d) for d in {*state.known_devices(), engine.device_id}}
    names = {d: engine._device_name(d) for d in covers}
    pruned = {d: pruned_upto(state, d) for d in listed}
    checkpoint.write(
        store,
        engine._data_key,
        engine.remote_id,
        checkpoint.Checkpoint(
            number=number,
            made_at=now,
            made_by=engine.device_id,
            covers=covers,
            pruned=pruned,
            lamport=engine._lamport(),
            device_names=names,
            revisions=checkpoint.kept_revisions(state),
            retention=retention.stamped(state),
            dropped=checkpoint.derived_dropped(state),
        ),
    )
    result.checkpoint = number
    for old in numbers:
        if old < number:
            engine.client.delete(checkpoint.path(old))
            result.checkpoints_deleted += 1
    return result


def _delete_blobs(engine: SyncEngine, everyone_read: Callable[[str, int], bool]) -> int:
    """Delete blobs that only versions dropped by fully read announcements use. A blob no
    known version uses is left alone: a device may be about to publish it."""
    state = engine.state
    dropped = state.dropped()
    users: dict[str, list[str]] = {}
    for rev in state.all_revisions():
        if rev.blob is not None:
            users.setdefault(rev.blob, []).append(rev.rev_id)
    deleted = 0
    for entry in engine.client.list_folder("blobs"):
        revs = users.get(entry.name)
        if not revs or entry.is_dir:
            continue
        if all(r in dropped and everyone_read(*dropped[r]) for r in revs):
            engine.client.delete(f"blobs/{entry.name}")
            deleted += 1
    return deleted


def _prune_logs(
    engine: SyncEngine,
    listed: set[str],
    newest: checkpoint.Checkpoint,
    everyone_read: Callable[[str, int], bool],
) -> int:
    """Delete log entries announced for pruning (read by every device) that the newest
    checkpoint covers; the newest entry of each log stays, so chains and cursors hold."""
    upto: dict[str, int] = {}
    for intent_device, intent_seq, device, seq in engine.state.prune_announcements():
        if intent_device == "checkpoint" or everyone_read(intent_device, intent_seq):
            upto[device] = max(upto.get(device, 0), seq)
    deleted = 0
    for device in sorted(listed):
        limit = min(upto.get(device, 0), newest.covers.get(device, (0, ""))[0])
        if limit <= 0:
            continue
        seqs = engine.store.log_seqs(device)
        top = max(seqs, default=0)
        for seq in seqs:
            if seq <= limit and seq < top:
                engine.client.delete(engine.store.log_path(device, seq))
                deleted += 1
    return deleted
