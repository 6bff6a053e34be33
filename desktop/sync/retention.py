"""Which old versions a compaction keeps. Pure functions, no I/O.

The default keeps every version for 30 days, then the newest version of each day for a year,
then the newest of each month, for ever. Current texts (every head, so conflict copies and
the texts they came from too), deletions that are current, and the versions devices report
still showing on their disk are never dropped. The writer can change the windows, or keep
everything.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from desktop.sync.state_db import Revision, StateDb

DAY = 86400.0
SETTING = "retention_policy"


@dataclass(frozen=True)
class RetentionPolicy:
    #: Every version younger than this is kept.
    keep_all_days: int = 30
    #: Then the newest version of each calendar day (UTC) younger than this.
    daily_days: int = 365
    #: Never drop a version (compaction then only shortens the logs).
    keep_everything: bool = False

    def __post_init__(self) -> None:
        if self.keep_all_days < 1 or self.daily_days < self.keep_all_days:
            raise ValueError(
                "Keep every version for at least a day, and daily versions at least as long."
            )

    def describe(self) -> str:
        if self.keep_everything:
            return "Every version is kept."
        return (
            f"Every version for {self.keep_all_days} days, then one a day until "
            f"{self.daily_days} days old, then one a month."
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RetentionPolicy:
        data = json.loads(text)
        return cls(
            keep_all_days=int(data["keep_all_days"]),
            daily_days=int(data["daily_days"]),
            keep_everything=bool(data["keep_everything"]),
        )


STAMP = "retention_stamp"  # meta: "lamport|device" of the change now in force
UNSENT = "retention_unsent"  # meta: "1" while a change made here is not in the log yet


def load(state: StateDb) -> RetentionPolicy:
    text = state.get(SETTING)
    if text is None:
        return RetentionPolicy()
    try:
        return RetentionPolicy.from_json(text)
    except (ValueError, KeyError, TypeError):
        return RetentionPolicy()


def save(state: StateDb, policy: RetentionPolicy, lamport: int, device: str) -> None:
    """The writer changed the policy here: it goes out in this device's next log entry and
    holds for the whole library (the latest change wins, by Lamport clock)."""
    with state.transaction():
        state.set(SETTING, policy.to_json())
        state.set(STAMP, f"{lamport}|{device}")
        state.set(UNSENT, "1")


def stamped(state: StateDb) -> dict[str, object] | None:
    """The policy with its stamp, for a log entry or a checkpoint; None if never set."""
    text, stamp = state.get(SETTING), state.get(STAMP)
    if text is None or stamp is None:
        return None
    lamport, _, device = stamp.partition("|")
    return {"policy": json.loads(text), "lamport": int(lamport), "device": device}


def adopt(state: StateDb, entry: object) -> None:
    """Take a policy from another device's log entry (or a checkpoint) if it is newer."""
    if not isinstance(entry, dict):
        return
    try:
        policy = RetentionPolicy.from_json(json.dumps(entry["policy"]))
        stamp = (int(entry["lamport"]), str(entry["device"]))
    except (ValueError, KeyError, TypeError):
        return
    lamport, _, device = (state.get(STAMP) or "0|").partition("|")
    if (int(lamport), device) >= stamp:
        return
    state.set(SETTING, policy.to_json())
    state.set(STAMP, f"{stamp[0]}|{stamp[1]}")


def _newest_first(rev: Revision) -> tuple[float, int, str, str]:
    return (rev.saved_at, rev.lamport, rev.device, rev.rev_id)


def bucket(saved_at: float, now: float, policy: RetentionPolicy) -> tuple[object, ...] | None:
    """The bucket a version falls in (one version is kept per bucket); None: kept anyway."""
    age = now - saved_at
    if policy.keep_everything or age < policy.keep_all_days * DAY:
        return None
    if age < policy.daily_days * DAY:
        return ("day", int(saved_at // DAY))
    t = time.gmtime(saved_at)
    return ("month", t.tm_year, t.tm_mon)


def versions_to_drop(
    revisions: Iterable[Revision], keep: set[str], now: float, policy: RetentionPolicy
) -> set[str]:
    """Revision ids the policy lets go. ``keep``: ids never dropped (current heads, texts on
    some device's disk). Of the versions in one bucket of one document the newest stays;
    old deletions that are not current carry no text and go."""
    if policy.keep_everything:
        return set()
    newest: dict[tuple[object, ...], Revision] = {}
    candidates: list[tuple[Revision, tuple[object, ...]]] = []
    drop: set[str] = set()
    for rev in revisions:
        if rev.deleted or rev.blob is None:
            if rev.rev_id not in keep and now - rev.saved_at >= policy.keep_all_days * DAY:
                drop.add(rev.rev_id)
            continue
        b = bucket(rev.saved_at, now, policy)
        if b is None:
            continue
        key = (rev.doc_id, *b)
        if key not in newest or _newest_first(rev) > _newest_first(newest[key]):
            newest[key] = rev
        candidates.append((rev, key))
    for rev, key in candidates:
        if rev.rev_id not in keep and newest[key].rev_id != rev.rev_id:
            drop.add(rev.rev_id)
    return drop
