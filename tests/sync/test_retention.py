"""The retention policy: every version for 30 days, then one a day for a year, then one a
month; current texts and texts still on a device's disk are never dropped."""

from __future__ import annotations

import time

import pytest

from desktop.sync.retention import DAY, RetentionPolicy, bucket, versions_to_drop
from desktop.sync.state_db import Revision

NOW = 1_800_000_000.0


def _edit(n: int, saved_at: float, doc: str = "d1") -> Revision:
    return Revision.edit(
        rev_id=f"r{n:05d}",
        doc_id=doc,
        parents=[f"r{n - 1:05d}"] if n else [],
        lamport=n + 1,
        device="dev",
        path="a.md",
        blob=f"b{n}",
        blob_size=10,
        sha256=f"s{n}",
        size=5,
        saved_at=saved_at,
    )


def test_default_policy_keeps_all_recent_one_a_day_then_one_a_month() -> None:
    # Three saves every day for two years, the newest first in the list.
    revs = []
    for day in range(730):
        for k in range(3):
            revs.append(_edit(len(revs), NOW - day * DAY - k * 3600))
    head = max(revs, key=lambda r: r.saved_at)
    drop = versions_to_drop(revs, {head.rev_id}, NOW, RetentionPolicy())
    kept = [r for r in revs if r.rev_id not in drop]
    recent = [r for r in kept if NOW - r.saved_at < 30 * DAY]
    daily = [r for r in kept if 30 * DAY <= NOW - r.saved_at < 365 * DAY]
    monthly = [r for r in kept if NOW - r.saved_at >= 365 * DAY]
    assert len(recent) == len([r for r in revs if NOW - r.saved_at < 30 * DAY])
    days = {int(r.saved_at // DAY) for r in daily}
    assert len(daily) == len(days)  # one per calendar day
    # ... and it is the newest of that day
    for r in daily:
        same_day = [x for x in revs if int(x.saved_at // DAY) == int(r.saved_at // DAY)]
        assert r.saved_at == max(x.saved_at for x in same_day)
    months = {time.gmtime(r.saved_at)[:2] for r in monthly}
    assert len(monthly) == len(months) and 11 <= len(months) <= 14
    assert head.rev_id not in drop


def test_kept_ids_and_other_documents_are_never_dropped() -> None:
    old = NOW - 100 * DAY
    a = [_edit(n, old + n, "dA") for n in range(5)]
    b = [_edit(10 + n, old + n, "dB") for n in range(2)]
    drop = versions_to_drop(a + b, {"r00001"}, NOW, RetentionPolicy())
    # One per day per document: the newest of each document's day stays, r00001 is held.
    assert drop == {"r00000", "r00002", "r00003", "r00010"}


def test_old_deletions_that_are_not_current_go_and_keep_everything_drops_nothing() -> None:
    gone = Revision.deletion(
        rev_id="x1", doc_id="d1", parents=[], lamport=1, device="d", path="a.md",
        saved_at=NOW - 40 * DAY,
    )  # fmt: skip
    assert versions_to_drop([gone], set(), NOW, RetentionPolicy()) == {"x1"}
    assert versions_to_drop([gone], {"x1"}, NOW, RetentionPolicy()) == set()
    revs = [_edit(n, NOW - 400 * DAY + n) for n in range(4)]
    assert versions_to_drop(revs, set(), NOW, RetentionPolicy(keep_everything=True)) == set()


def test_a_policy_that_makes_no_sense_is_refused() -> None:
    with pytest.raises(ValueError):
        RetentionPolicy(keep_all_days=0)
    with pytest.raises(ValueError):
        RetentionPolicy(keep_all_days=40, daily_days=10)
    assert bucket(NOW - DAY, NOW, RetentionPolicy()) is None
