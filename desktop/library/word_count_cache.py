"""Word counts that survive a restart, so a big library does not re-read every document at
every start.

Each document's count is stored with the file's size, modification time and SHA-256. A file
whose size and time are unchanged is not read at all; one whose time changed but whose bytes
hash the same (touched, copied back by a sync tool) is read and hashed, not recounted. The
cache is a file in the user cache folder: a JSON header line, then JSON lines of up to
``ENCODE_CHUNK`` entries each, so reading and writing it never holds the interpreter lock
for long (10,000 entries in one ``json.loads`` took ~40-60 ms). Losing or damaging it only
costs a recount. Thread-safe: the sidebar loads and fills its counts from a background
thread."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from desktop.interpreter_lock import hand_over
from desktop.library.atomic_write import atomic_write_text

logger = logging.getLogger(__name__)

VERSION = 2  # 1: one JSON document (still read)
ENCODE_CHUNK = 500  # entries per JSON line


@dataclass(frozen=True)
class _Entry:
    mtime_ns: int
    size: int
    sha256: str
    words: int


class WordCountCache:
    """``path relative to the library`` -> count, persisted to ``cache_file``."""

    def __init__(self, root: Path, cache_file: Path) -> None:
        self.root = root
        self._root_prefix = os.path.join(str(root), "")
        self.cache_file = cache_file
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._changed = False
        self._load()

    def _load(self) -> None:
        try:
            lines = self.cache_file.read_text(encoding="utf-8").splitlines()
            header = json.loads(lines[0]) if lines else {}
            if header.get("version") == 1:  # the whole cache in one document
                chunks = [header["documents"]]
            elif header.get("version") == VERSION:
                chunks = lines[1:]
            else:
                return
            entries: dict[str, _Entry] = {}
            for chunk in chunks:
                documents = json.loads(chunk) if isinstance(chunk, str) else chunk
                for key, v in documents.items():
                    entries[key] = _Entry(int(v[0]), int(v[1]), str(v[2]), int(v[3]))
                hand_over()  # between chunks
            self._entries = entries
        except FileNotFoundError:
            return
        except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            logger.info("Word-count cache unreadable, counting afresh: %s", exc)
            self._entries = {}

    def _key(self, document: Path | str) -> str:
        # String work, not Path.relative_to: this runs for every document at every listing.
        text, root = str(document), self._root_prefix
        if not text.startswith(root):
            return text
        relative = text[len(root) :]
        return relative.replace(os.sep, "/") if os.sep != "/" else relative

    def remembered_all(self, documents: Iterable[str]) -> dict[str, int]:
        """``remembered`` for many documents at once (a listing of 10,000: one lock, no
        call per document); documents without an entry are left out."""
        root, cut = self._root_prefix, len(self._root_prefix)
        found: dict[str, int] = {}
        with self._lock:
            entries = self._entries
            for document in documents:
                key = document[cut:] if document.startswith(root) else document
                entry = entries.get(key.replace(os.sep, "/") if os.sep != "/" else key)
                if entry is not None:
                    found[document] = entry.words
        return found

    def remembered(self, document: Path | str) -> int | None:
        """The last known count, without touching the disk (may be stale: verify later)."""
        with self._lock:
            entry = self._entries.get(self._key(document))
        return entry.words if entry else None

    def words(
        self, document: Path, count: Callable[[bytes], int], digest: Callable[[bytes], str]
    ) -> int:
        """The document's count: from the cache when the file is unchanged, else ``count``
        of its bytes. Raises OSError when the file can't be read."""
        key = self._key(document)
        stat = os.stat(document)
        with self._lock:
            entry = self._entries.get(key)
        if entry and (entry.mtime_ns, entry.size) == (stat.st_mtime_ns, stat.st_size):
            return entry.words
        data = Path(document).read_bytes()
        sha = digest(data)
        words = entry.words if entry and entry.sha256 == sha else count(data)
        with self._lock:
            self._entries[key] = _Entry(stat.st_mtime_ns, stat.st_size, sha, words)
            self._changed = True
        return words

    def remember(self, document: Path, sha256: str, words: int) -> None:
        """``document`` was just written with these bytes (a save): no recount later."""
        stat = os.stat(document)
        with self._lock:
            self._entries[self._key(document)] = _Entry(
                stat.st_mtime_ns, stat.st_size, sha256, words
            )
            self._changed = True

    def forget_missing(self, present: set[Path] | set[str]) -> None:
        """Drop entries of documents that are gone (deleted, renamed)."""
        keys = {self._key(p) for p in present}
        with self._lock:
            gone = [key for key in self._entries if key not in keys]
            for key in gone:
                del self._entries[key]
            self._changed = self._changed or bool(gone)

    def save(self) -> None:
        """Write the cache if anything changed; a failure only costs a recount next time."""
        with self._lock:
            if not self._changed:
                return
            documents = [
                (key, [e.mtime_ns, e.size, e.sha256, e.words]) for key, e in self._entries.items()
            ]
            self._changed = False
        try:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.cache_file, _encode(documents))
        except OSError as exc:
            logger.warning("Couldn't save the word-count cache: %s", exc)


def _encode(documents: list[tuple[str, list[object]]]) -> str:
    """The cache file's text: a header line, then one JSON line per ``ENCODE_CHUNK`` entries
    (one ``json.dumps`` of 10,000 entries held the interpreter lock for ~35 ms)."""
    lines = [json.dumps({"version": VERSION})]
    for start in range(0, len(documents), ENCODE_CHUNK):
        lines.append(json.dumps(dict(documents[start : start + ENCODE_CHUNK])))
        hand_over()  # between chunks
    return "\n".join(lines) + "\n"
