"""Per-device sync state in SQLite: settings, known revisions, what is on disk, cursors."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revisions (
    rev_id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    parents TEXT NOT NULL,
    lamport INTEGER NOT NULL,
    device TEXT NOT NULL,
    path TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    blob TEXT,
    blob_size INTEGER,
    blob_doc TEXT,
    blob_rev TEXT,
    sha256 TEXT,
    size INTEGER,
    saved_at REAL NOT NULL,
    published INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS revisions_doc ON revisions(doc_id);
CREATE TABLE IF NOT EXISTS parent_links (parent TEXT NOT NULL, child TEXT NOT NULL,
    PRIMARY KEY (parent, child));
CREATE TABLE IF NOT EXISTS local_docs (
    doc_id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    rev_id TEXT NOT NULL,
    sha256 TEXT,
    size INTEGER,
    mtime_ns INTEGER,
    folded TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS local_docs_folded ON local_docs(folded);
CREATE TABLE IF NOT EXISTS cursors (device TEXT PRIMARY KEY, seq INTEGER NOT NULL,
    record_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rounds (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL,
    report TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS own_records (seq INTEGER PRIMARY KEY, ciphertext BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, ciphertext BLOB NOT NULL,
    rev_ids TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dropped_revisions (rev_id TEXT PRIMARY KEY,
    intent_device TEXT NOT NULL, intent_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS prune_announcements (intent_device TEXT NOT NULL,
    intent_seq INTEGER NOT NULL, device TEXT NOT NULL, upto INTEGER NOT NULL,
    PRIMARY KEY (intent_device, intent_seq, device));
"""


@dataclass(frozen=True)
class Revision:
    rev_id: str
    doc_id: str
    parents: tuple[str, ...]
    lamport: int
    device: str
    path: str
    deleted: bool
    blob: str | None
    blob_size: int | None
    blob_doc: str | None
    blob_rev: str | None
    sha256: str | None
    size: int | None
    saved_at: float

    def to_json(self) -> dict[str, object]:
        return {
            "rev": self.rev_id,
            "doc": self.doc_id,
            "parents": list(self.parents),
            "lamport": self.lamport,
            "device": self.device,
            "path": self.path,
            "deleted": self.deleted,
            "blob": self.blob,
            "blob_size": self.blob_size,
            "blob_doc": self.blob_doc,
            "blob_rev": self.blob_rev,
            "sha256": self.sha256,
            "size": self.size,
            "saved_at": self.saved_at,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Revision:
        return cls(
            rev_id=str(d["rev"]),
            doc_id=str(d["doc"]),
            parents=tuple(str(p) for p in d["parents"]),
            lamport=int(d["lamport"]),
            device=str(d["device"]),
            path=str(d["path"]),
            deleted=bool(d["deleted"]),
            blob=None if d["blob"] is None else str(d["blob"]),
            blob_size=None if d["blob_size"] is None else int(d["blob_size"]),
            blob_doc=None if d["blob_doc"] is None else str(d["blob_doc"]),
            blob_rev=None if d["blob_rev"] is None else str(d["blob_rev"]),
            sha256=None if d["sha256"] is None else str(d["sha256"]),
            size=None if d["size"] is None else int(d["size"]),
            saved_at=float(d["saved_at"]),
        )

    @classmethod
    def edit(
        cls,
        *,
        rev_id: str,
        doc_id: str,
        parents: list[str],
        lamport: int,
        device: str,
        path: str,
        blob: str,
        blob_size: int,
        sha256: str,
        size: int,
        saved_at: float,
    ) -> Revision:
        """Text saved on this device: the revision owns its newly stored blob."""
        return cls(
            rev_id=rev_id,
            doc_id=doc_id,
            parents=tuple(parents),
            lamport=lamport,
            device=device,
            path=path,
            deleted=False,
            blob=blob,
            blob_size=blob_size,
            blob_doc=doc_id,
            blob_rev=rev_id,
            sha256=sha256,
            size=size,
            saved_at=saved_at,
        )

    @classmethod
    def deletion(
        cls,
        *,
        rev_id: str,
        doc_id: str,
        parents: list[str],
        lamport: int,
        device: str,
        path: str,
        saved_at: float,
    ) -> Revision:
        """The document is deleted (at ``path``, its last name): no text."""
        return cls(
            rev_id=rev_id,
            doc_id=doc_id,
            parents=tuple(parents),
            lamport=lamport,
            device=device,
            path=path,
            deleted=True,
            blob=None,
            blob_size=None,
            blob_doc=None,
            blob_rev=None,
            sha256=None,
            size=None,
            saved_at=saved_at,
        )

    @classmethod
    def reusing(
        cls,
        source: Revision,
        *,
        rev_id: str,
        doc_id: str,
        parents: list[str],
        path: str,
        lamport: int,
        device: str,
    ) -> Revision:
        """A revision that reuses ``source``'s stored text and save time: a rename, a
        conflict copy, a take-back, or a document kept after a delete elsewhere."""
        return cls(
            rev_id=rev_id,
            doc_id=doc_id,
            parents=tuple(parents),
            lamport=lamport,
            device=device,
            path=path,
            deleted=False,
            blob=source.blob,
            blob_size=source.blob_size,
            blob_doc=source.blob_doc,
            blob_rev=source.blob_rev,
            sha256=source.sha256,
            size=source.size,
            saved_at=source.saved_at,
        )


@dataclass(frozen=True)
class LocalDoc:
    doc_id: str
    path: str
    rev_id: str
    sha256: str | None
    size: int | None
    mtime_ns: int | None


class _Rows:
    """A statement's result, read in full while the connection was locked."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.rowcount = cursor.rowcount
        self._rows: list[Any] = cursor.fetchall()

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return self._rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


class _LockedConnection:
    """The one SQLite connection, shared by the GUI thread and the sync thread: every statement
    runs under ``lock`` and its rows are read before the lock is let go, so no thread ever sees a
    cursor or a transaction of the other one (a ``StateDb.transaction`` holds the lock
    throughout)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self.lock = threading.RLock()

    def execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> _Rows:
        with self.lock:
            return _Rows(self._connection.execute(sql, parameters))

    def executemany(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> _Rows:
        with self.lock:
            return _Rows(self._connection.executemany(sql, rows))

    def executescript(self, script: str) -> None:
        with self.lock:
            self._connection.executescript(script)

    def set_trace_callback(self, callback: Callable[[str], object] | None) -> None:
        """Call ``callback`` with each SQL statement run (``None`` stops): lets tests and
        diagnostics count the statements a round costs, lock or not."""
        with self.lock:
            self._connection.set_trace_callback(callback)

    def close(self) -> None:
        with self.lock:
            self._connection.close()


class StateDb:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = _LockedConnection(
            sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Other threads wait until it commits or rolls back: its statements are all its own."""
        with self._db.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- meta ------------------------------------------------------------------------

    def get(self, key: str, default: str | None = None) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def set(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def get_int(self, key: str, default: int = 0) -> int:
        value = self.get(key)
        return default if value is None else int(value)

    # --- revisions -------------------------------------------------------------------

    def add_revision(self, rev: Revision, published: bool) -> bool:
        """Insert a revision; False if it was already known."""
        cur = self._db.execute(
            "INSERT OR IGNORE INTO revisions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                rev.rev_id,
                rev.doc_id,
                json.dumps(list(rev.parents)),
                rev.lamport,
                rev.device,
                rev.path,
                int(rev.deleted),
                rev.blob,
                rev.blob_size,
                rev.blob_doc,
                rev.blob_rev,
                rev.sha256,
                rev.size,
                rev.saved_at,
                int(published),
            ),
        )
        if cur.rowcount == 0:
            if published:
                self._db.execute("UPDATE revisions SET published=1 WHERE rev_id=?", (rev.rev_id,))
            return False
        for parent in rev.parents:
            self._db.execute(
                "INSERT OR IGNORE INTO parent_links VALUES (?, ?)", (parent, rev.rev_id)
            )
        return True

    def revision(self, rev_id: str) -> Revision | None:
        row = self._db.execute("SELECT * FROM revisions WHERE rev_id=?", (rev_id,)).fetchone()
        return None if row is None else self._rev(row)

    def revisions_of(self, doc_id: str) -> list[Revision]:
        rows = self._db.execute(
            "SELECT * FROM revisions WHERE doc_id=? ORDER BY lamport, device, rev_id", (doc_id,)
        ).fetchall()
        return [self._rev(r) for r in rows]

    def heads(self, doc_id: str) -> list[Revision]:
        rows = self._db.execute(
            "SELECT * FROM revisions r WHERE doc_id=? AND NOT EXISTS "
            "(SELECT 1 FROM parent_links p JOIN revisions c ON c.rev_id = p.child "
            " WHERE p.parent = r.rev_id AND c.doc_id = r.doc_id)",
            (doc_id,),
        ).fetchall()
        return [self._rev(r) for r in rows]

    def all_doc_ids(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT DISTINCT doc_id FROM revisions")]

    def unsettled_doc_ids(self) -> list[str]:
        """Documents that may need writing, deleting or a conflict copy on this disk: all but
        those whose one live head is the revision on disk and those deleted everywhere and
        not on disk. One query, so a round with nothing new does no work per document."""
        rows = self._db.execute(
            "WITH heads AS (SELECT r.doc_id, r.rev_id, r.deleted FROM revisions r "
            " WHERE NOT EXISTS (SELECT 1 FROM parent_links p JOIN revisions c "
            "  ON c.rev_id = p.child WHERE p.parent = r.rev_id AND c.doc_id = r.doc_id)), "
            "per_doc AS (SELECT doc_id, COUNT(*) AS n, MAX(rev_id) AS head, "
            " SUM(1 - deleted) AS live FROM heads GROUP BY doc_id) "
            "SELECT d.doc_id FROM per_doc d LEFT JOIN local_docs l ON l.doc_id = d.doc_id "
            "WHERE NOT ((d.n = 1 AND d.live = 1 AND l.rev_id IS d.head) "
            " OR (d.live = 0 AND l.doc_id IS NULL))"
        )
        return [r[0] for r in rows]

    def unpublished(self) -> list[Revision]:
        rows = self._db.execute(
            "SELECT * FROM revisions WHERE published=0 ORDER BY lamport, rev_id"
        ).fetchall()
        return [self._rev(r) for r in rows]

    def mark_published(self, rev_ids: Iterable[str]) -> None:
        self._db.executemany(
            "UPDATE revisions SET published=1 WHERE rev_id=?", [(r,) for r in rev_ids]
        )

    def max_lamport(self) -> int:
        row = self._db.execute("SELECT MAX(lamport) FROM revisions").fetchone()
        return int(row[0] or 0)

    @staticmethod
    def _rev(row: tuple[Any, ...]) -> Revision:
        return Revision(
            rev_id=row[0],
            doc_id=row[1],
            parents=tuple(json.loads(row[2])),
            lamport=row[3],
            device=row[4],
            path=row[5],
            deleted=bool(row[6]),
            blob=row[7],
            blob_size=row[8],
            blob_doc=row[9],
            blob_rev=row[10],
            sha256=row[11],
            size=row[12],
            saved_at=row[13],
        )

    # --- local docs ------------------------------------------------------------------

    def local_docs(self) -> list[LocalDoc]:
        return [LocalDoc(*r[:6]) for r in self._db.execute("SELECT * FROM local_docs")]

    def local_docs_at(self, path: str) -> list[LocalDoc]:
        """Documents whose file is at ``path``, compared case-insensitively."""
        rows = self._db.execute("SELECT * FROM local_docs WHERE folded=?", (path.casefold(),))
        return [LocalDoc(*r[:6]) for r in rows]

    def local_doc(self, doc_id: str) -> LocalDoc | None:
        row = self._db.execute("SELECT * FROM local_docs WHERE doc_id=?", (doc_id,)).fetchone()
        return None if row is None else LocalDoc(*row[:6])

    def set_local_doc(self, doc: LocalDoc) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO local_docs VALUES (?,?,?,?,?,?,?)",
            (
                doc.doc_id,
                doc.path,
                doc.rev_id,
                doc.sha256,
                doc.size,
                doc.mtime_ns,
                doc.path.casefold(),
            ),
        )

    def remove_local_doc(self, doc_id: str) -> None:
        self._db.execute("DELETE FROM local_docs WHERE doc_id=?", (doc_id,))

    # --- cursors & outbox ------------------------------------------------------------

    def cursor(self, device: str) -> tuple[int, str]:
        row = self._db.execute(
            "SELECT seq, record_hash FROM cursors WHERE device=?", (device,)
        ).fetchone()
        return (0, "") if row is None else (int(row[0]), str(row[1]))

    def known_devices(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT device FROM cursors WHERE seq > 0")]

    def set_cursor(self, device: str, seq: int, record_hash: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO cursors VALUES (?,?,?)", (device, seq, record_hash)
        )

    def outbox(self) -> tuple[int, bytes, list[str]] | None:
        row = self._db.execute(
            "SELECT seq, ciphertext, rev_ids FROM outbox ORDER BY seq LIMIT 1"
        ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]), json.loads(row[2]))

    def set_outbox(self, seq: int, ciphertext: bytes, rev_ids: list[str]) -> None:
        self._db.execute(
            "INSERT INTO outbox VALUES (?,?,?)", (seq, ciphertext, json.dumps(rev_ids))
        )

    def add_round(self, at: float, report: str, keep: int = 200) -> None:
        self._db.execute("INSERT INTO rounds(at, report) VALUES (?, ?)", (at, report))
        self._db.execute("DELETE FROM rounds WHERE id <= (SELECT MAX(id) FROM rounds) - ?", (keep,))

    def rounds(self) -> list[tuple[float, str]]:
        return [
            (float(r[0]), str(r[1]))
            for r in self._db.execute("SELECT at, report FROM rounds ORDER BY id")
        ]

    def add_own_record(self, seq: int, ciphertext: bytes) -> None:
        self._db.execute("INSERT OR REPLACE INTO own_records VALUES (?, ?)", (seq, ciphertext))

    def own_record(self, seq: int) -> bytes | None:
        row = self._db.execute("SELECT ciphertext FROM own_records WHERE seq=?", (seq,)).fetchone()
        return None if row is None else bytes(row[0])

    def clear_outbox(self, seq: int) -> None:
        self._db.execute("DELETE FROM outbox WHERE seq=?", (seq,))

    # --- compaction (see the compaction module) ----------------------------------------

    def all_revisions(self) -> list[Revision]:
        return [self._rev(r) for r in self._db.execute("SELECT * FROM revisions")]

    def mark_dropped(self, rev_id: str, intent_device: str, intent_seq: int) -> None:
        """A compaction's log entry (``intent_device``/``intent_seq``) dropped this version:
        its text leaves the server once every device has read that entry."""
        self._db.execute(
            "INSERT OR IGNORE INTO dropped_revisions VALUES (?, ?, ?)",
            (rev_id, intent_device, intent_seq),
        )

    def dropped(self) -> dict[str, tuple[str, int]]:
        """rev id -> the compaction entry (device, seq) that dropped it."""
        return {
            str(r[0]): (str(r[1]), int(r[2]))
            for r in self._db.execute("SELECT * FROM dropped_revisions")
        }

    def is_dropped(self, rev_id: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM dropped_revisions WHERE rev_id=?", (rev_id,)
        ).fetchone()
        return row is not None

    def add_prune_announcement(
        self, intent_device: str, intent_seq: int, device: str, upto: int
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO prune_announcements VALUES (?, ?, ?, ?)",
            (intent_device, intent_seq, device, upto),
        )

    def prune_announcements(self) -> list[tuple[str, int, str, int]]:
        """(intent device, intent seq, log device, entries up to) for each announcement."""
        return [
            (str(r[0]), int(r[1]), str(r[2]), int(r[3]))
            for r in self._db.execute("SELECT * FROM prune_announcements")
        ]

    def behind_local_revisions(self) -> list[str]:
        """Revisions on this disk that are no longer their document's head (a newer text
        is known but not written here yet, e.g. the file is open with unsaved edits)."""
        rows = self._db.execute(
            "SELECT DISTINCT l.rev_id FROM local_docs l JOIN parent_links p ON p.parent = l.rev_id"
            " JOIN revisions c ON c.rev_id = p.child AND c.doc_id = l.doc_id"
        )
        return sorted(str(r[0]) for r in rows)

    def replace_published_graph(self, revisions: list[Revision]) -> None:
        """Bootstrap: the published graph becomes ``revisions`` (from a checkpoint); this
        device's unpublished revisions stay. Call inside a transaction."""
        self._db.execute("DELETE FROM revisions WHERE published=1")
        self._db.execute(
            "DELETE FROM parent_links WHERE child NOT IN (SELECT rev_id FROM revisions)"
        )
        self._db.execute("DELETE FROM dropped_revisions")
        for rev in revisions:
            self.add_revision(rev, published=True)

    def drop_own_records_upto(self, seq: int) -> None:
        """This device's log entries up to ``seq`` are pruned everywhere: no repair needs them."""
        self._db.execute("DELETE FROM own_records WHERE seq <= ?", (seq,))

    def forget_unpublished(self, rev_id: str) -> None:
        """Drop an unpublished revision (its stored text is gone from the server); a file
        on disk that pointed at it is no longer tracked, so the next round records it anew."""
        self._db.execute("DELETE FROM revisions WHERE rev_id=? AND published=0", (rev_id,))
        self._db.execute("DELETE FROM parent_links WHERE child=?", (rev_id,))
        self._db.execute("DELETE FROM local_docs WHERE rev_id=?", (rev_id,))
