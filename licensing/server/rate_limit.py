"""Per-address limits on key lookups, so keys cannot be enumerated.

Two budgets per client address: all lookups (a generous per-minute budget) and failed
lookups (unknown or malformed keys, a small budget over a longer window). The counts live
in the license database, so several server processes or hosts sharing one PostgreSQL
enforce one limit together. Counts are kept per fixed window with one atomic
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` (PostgreSQL and SQLite alike), so
parallel requests never lose a count; a budget is checked against a sliding estimate (this
window's count plus the part of the previous window still inside the last ``length``
seconds), so a burst across a window boundary is still caught.
"""

from __future__ import annotations

import random
import time
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from licensing.server.models import RateCounter

ALL = "all"
FAILED = "failed"
MINUTE_S = 60
PRUNE_ONE_IN = 200  # delete expired windows now and then


def _window(now: float, length: int) -> int:
    return int(now // length) * length


class LookupLimiter:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        per_minute: int,
        failures: int,
        failure_window_s: int,
    ) -> None:
        self.sessions = sessions
        self.per_minute = per_minute
        self.failures = failures
        self.failure_window_s = int(failure_window_s)
        engine = sessions.kw.get("bind")
        dialect = engine.dialect.name if isinstance(engine, Engine) else "sqlite"
        self._insert: Any = postgresql_insert if dialect == "postgresql" else sqlite_insert

    def _count(self, session: Session, client: str, kind: str, window: int) -> int:
        statement = self._insert(RateCounter).values(
            client=client[:100], kind=kind, window_start=window, hits=1
        )
        statement = statement.on_conflict_do_update(
            index_elements=["client", "kind", "window_start"],
            set_={"hits": RateCounter.hits + 1},
        ).returning(RateCounter.hits)
        return int(session.execute(statement).scalar_one())

    def check(self, client: str, now: float | None = None) -> float:
        """Record one lookup; the seconds to wait when over a limit (0 when allowed).

        Two statements: one read of this address's counters, one atomic increment.
        """
        now = time.time() if now is None else now
        failed_length = self.failure_window_s
        failed_start, minute = _window(now, failed_length), _window(now, MINUTE_S)
        wanted = {
            (FAILED, failed_start),
            (FAILED, failed_start - failed_length),
            (ALL, minute - MINUTE_S),
        }
        with self.sessions() as session, session.begin():
            rows = session.execute(
                select(RateCounter.kind, RateCounter.window_start, RateCounter.hits).where(
                    RateCounter.client == client[:100],
                    RateCounter.window_start.in_({window for _, window in wanted}),
                )
            ).all()
            hits = {(kind, window): count for kind, window, count in rows}

            def estimate(kind: str, start: int, length: int, current: int) -> float:
                previous = hits.get((kind, start - length), 0)
                return current + previous * (1 - (now - start) / length)

            failed_now = hits.get((FAILED, failed_start), 0)
            if estimate(FAILED, failed_start, failed_length, failed_now) >= self.failures:
                return max(1.0, failed_start + failed_length - now)
            lookups = self._count(session, client, ALL, minute)
            if estimate(ALL, minute, MINUTE_S, lookups) > self.per_minute:
                return max(1.0, minute + MINUTE_S - now)
            if random.randrange(PRUNE_ONE_IN) == 0:
                oldest = now - 2 * max(self.failure_window_s, MINUTE_S)
                session.execute(delete(RateCounter).where(RateCounter.window_start < oldest))
        return 0.0

    def failure(self, client: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.sessions() as session, session.begin():
            self._count(session, client, FAILED, _window(now, self.failure_window_s))
