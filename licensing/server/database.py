"""Engine and sessions. SQLite takes its write lock at BEGIN so seat counting is serialized;
PostgreSQL locks the license row (``SELECT ... FOR UPDATE``) for the same effect."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from licensing.server.models import Base


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        # SQLite allows one writer. Queue this process's transactions on a lock first:
        # waiting in SQLite's busy handler (sleeps that grow to 100 ms) makes the slowest
        # activations wait close to a second under load; the lock hands over at once.
        writer = threading.Lock()

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.info["holds_writer"] = writer.acquire(timeout=30)
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _release(connection)
                raise

        def _release(connection: Any) -> None:
            if connection.info.pop("holds_writer", False):
                writer.release()

        event.listen(engine, "commit", _release)
        event.listen(engine, "rollback", _release)

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine``, creating missing tables first.

    Several server processes starting at once (``uvicorn --workers N``, several hosts) race to
    create the same tables; the losers see "already exists" and simply try again.
    """
    for attempt in range(5):
        try:
            Base.metadata.create_all(engine)
            break
        except (IntegrityError, OperationalError, ProgrammingError):
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
    return sessionmaker(engine, expire_on_commit=False)
