"""The library: a folder of Markdown documents (and sub-folders) that the writer owns.

Files other tools create there just appear; dot folders (``.draftsmith``, ``.trash``, ``.git``)
are Draftsmith's or other tools' business and stay hidden.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from desktop import paths
from desktop.library.atomic_write import atomic_write_text
from desktop.library.document_file import content_hash, decode_document, unique_path
from desktop.library.errors import LibraryError
from desktop.library.notes import load_notes, move_notes, save_notes
from desktop.library.snapshots import SnapshotStore
from desktop.library.trash import move_to_trash
from desktop.library.word_count import count_words
from desktop.library.word_count_cache import WordCountCache

logger = logging.getLogger(__name__)

WELCOME_TEXT = """# Welcome to Draftsmith

This is your library: every document is a plain Markdown file in a folder you own, \
so any other tool can open it too.

- Your words are **saved by themselves** a few seconds after you stop typing.
- Pause after a sentence and the AI suggests what could come next, in grey: **Tab** takes it, \
**Ctrl+Right** takes a word, **Escape** waves it away. It runs on this computer.
- Select a passage for the **AI** menu (or right-click): rewrite, shorten, expand, brainstorm…
- **Ctrl+Shift+P** opens the command palette with every action.
- **F11** enters focus mode: just you and the page.
- **Ctrl+F** finds, **Ctrl+H** replaces (with regular expressions if you like).

> Write first. Edit later.

Delete this document whenever you like — it goes to the trash, not into the void.
"""


def untouched_welcome(folder: Path) -> Path | None:
    """The welcome page under ``folder`` (relative) while it still holds only the app's text:
    not the writer's writing (Learn my style leaves it out)."""
    try:
        text = (Path(folder) / paths.WELCOME_DOCUMENT).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return Path(paths.WELCOME_DOCUMENT) if text == WELCOME_TEXT else None


_BAD_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass
class Node:
    """A folder or document of the listing. Its path is kept as text: listing 10,000
    documents at start-up builds no ``Path`` objects (``path`` makes one when asked)."""

    location: str
    name: str  # the file or folder name, as listed
    is_folder: bool
    words: int = 0
    children: list[Node] = field(default_factory=list)

    @functools.cached_property
    def path(self) -> Path:
        return Path(self.location)

    @property
    def title(self) -> str:
        return self.name if self.is_folder else self.name.removesuffix(paths.DOCUMENT_SUFFIX)


@dataclass(frozen=True)
class SearchHit:
    path: Path
    in_title: bool
    line: int  # 1-based; 0 for a title hit
    excerpt: str


_DIGITS = re.compile(r"(\d+)")


def natural_key(path: Path) -> list[object]:
    """“Chapter 2” before “Chapter 10”."""
    return natural_name_key(path.name)


def natural_name_key(name: str) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(name)]


def clean_name(name: str) -> str:
    name = name.strip()
    if not name or name in (".", "..") or name.startswith(".") or _BAD_NAME.search(name):
        raise LibraryError(
            f"“{name}” can't be used as a name: avoid / \\ : * ? \" < > | and a leading dot."
        )
    return name


class Library:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.snapshots = SnapshotStore(self.root)
        self._word_counts: WordCountCache | None = None
        self._word_counts_lock = threading.Lock()

    @property
    def word_counts(self) -> WordCountCache:
        """Persistent (user cache folder): a restart re-reads only documents that changed.
        Read from disk on first use (the sidebar's counting thread does that at start-up)."""
        with self._word_counts_lock:
            if self._word_counts is None:
                self._word_counts = WordCountCache(
                    self.root, paths.word_count_cache_path(self.root)
                )
            return self._word_counts

    @property
    def word_counts_loaded(self) -> bool:
        """Whether ``word_counts`` is in memory already (using it then never waits)."""
        return self._word_counts is not None

    def ensure_exists(self, *, welcome: bool = True) -> Path | None:
        """Create the folder on first run; returns the welcome document if one was written."""
        created = not self.root.exists()
        self.root.mkdir(parents=True, exist_ok=True)
        if created and welcome:
            doc = self.root / paths.WELCOME_DOCUMENT
            atomic_write_text(doc, WELCOME_TEXT)
            return doc
        return None

    # ----- listing -------------------------------------------------------------------------
    def relative(self, path: Path) -> Path:
        return Path(path).resolve().relative_to(self.root)

    def contains(self, path: Path) -> bool:
        try:
            self.relative(path)
        except ValueError:
            return False
        return True

    def documents(self) -> list[Path]:
        found = []
        for path in self.root.rglob(f"*{paths.DOCUMENT_SUFFIX}"):
            if path.is_file() and not paths.is_hidden_part(path.relative_to(self.root)):
                found.append(path)
        return sorted(
            found,
            key=lambda p: [natural_key(Path(part)) for part in p.relative_to(self.root).parts],
        )

    def first_document(self, folder: Path | None = None) -> Path | None:
        """``documents()[0]`` without listing the whole library."""
        folder = folder or self.root
        try:
            with os.scandir(folder) as scan:
                entries = sorted(
                    (e for e in scan if not e.name.startswith(".")),
                    key=lambda e: natural_name_key(e.name),
                )
        except OSError:
            return None
        for entry in entries:
            path = folder / entry.name
            if entry.is_dir():
                found = self.first_document(path)
                if found is not None:
                    return found
            elif entry.name.endswith(paths.DOCUMENT_SUFFIX) and entry.is_file():
                return path
        return None

    def tree(self, folder: Path | None = None, *, with_counts: bool = True) -> Node:
        """Folders and documents; ``with_counts=False`` lists without reading any document
        (a big library's tree appears at once; counts fill in later)."""
        location = str(folder or self.root)
        return self._tree(location, os.path.basename(location), with_counts)

    def _tree(self, folder: str, name: str, with_counts: bool) -> Node:
        node = Node(folder, name, True)
        entries = self._listed(Path(folder))
        # Folders first, then documents, each in natural order (DirEntry.is_dir is cached).
        entries.sort(key=lambda e: (not e.is_dir(), natural_name_key(e.name)))
        for entry in entries:
            if entry.is_dir():
                child = self._tree(entry.path, entry.name, with_counts)
            else:
                words = self.word_count(Path(entry.path)) if with_counts else 0
                child = Node(entry.path, entry.name, False, words)
            node.children.append(child)
            node.words += child.words
        return node

    def _listed(self, folder: Path) -> list[os.DirEntry[str]]:
        """The folders and documents ``tree`` shows in ``folder`` (not its sub-folders')."""
        try:
            with os.scandir(folder) as scan:  # file types without a stat per entry
                return [
                    entry
                    for entry in scan
                    if not entry.name.startswith(".")
                    and (
                        entry.is_dir()
                        or (entry.name.endswith(paths.DOCUMENT_SUFFIX) and entry.is_file())
                    )
                ]
        except OSError as exc:
            logger.warning("Can't list %s: %s", folder, exc)
            return []

    def listing(self, folder: Path) -> frozenset[str]:
        """The names ``tree`` shows in ``folder``: equal before and after a save (its
        temporary file came and went), different when a document or folder came or went."""
        return frozenset(entry.name for entry in self._listed(folder))

    def word_count(self, document: Path) -> int:
        """Counted once per change of the file, across restarts (see ``word_counts``);
        safe to call from a background thread."""
        try:
            return self.word_counts.words(
                document, lambda data: count_words(decode_document(data)), content_hash
            )
        except OSError:
            return 0

    def remember_word_count(self, document: Path, sha256: str, words: int) -> None:
        """A save knows its text's count and hash: the sidebar need not read the file again."""
        try:
            self.word_counts.remember(document, sha256, words)
        except OSError as exc:
            logger.info("Couldn't stat %s for its word count: %s", document, exc)

    def remembered_word_count(self, document: Path | str) -> int | None:
        """The count from the last session, without reading the disk (verify later)."""
        return self.word_counts.remembered(document)

    def remembered_word_counts(self, documents: list[str]) -> dict[str, int]:
        """``remembered_word_count`` of many documents (paths as text), at once."""
        return self.word_counts.remembered_all(documents)

    def save_word_counts(self, present: set[Path] | None = None) -> None:
        """Persist the counts; ``present`` (every document now) drops entries of gone ones."""
        if present is not None:
            self.word_counts.forget_missing(present)
        self.word_counts.save()

    def folders(self) -> list[Path]:
        """The library and its visible sub-folders."""
        found = [self.root]
        for path in sorted(self.root.rglob("*")):
            if path.is_dir() and not paths.is_hidden_part(path.relative_to(self.root)):
                found.append(path)
        return found

    # ----- changes ---------------------------------------------------------------------------
    def create_document(
        self, folder: Path | None = None, title: str = "Untitled", text: str = ""
    ) -> Path:
        folder = folder or self.root
        path = unique_path(folder, clean_name(title), paths.DOCUMENT_SUFFIX)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
        return path

    def create_folder(self, parent: Path | None = None, name: str = "New folder") -> Path:
        parent = parent or self.root
        path = unique_path(parent, clean_name(name), "")
        path.mkdir(parents=True)
        return path

    def rename(self, path: Path, new_title: str) -> Path:
        path = Path(path)
        suffix = "" if path.is_dir() else paths.DOCUMENT_SUFFIX
        new_title = clean_name(new_title)
        if new_title.endswith(paths.DOCUMENT_SUFFIX) and suffix:
            new_title = new_title[: -len(suffix)]
        target = path.with_name(new_title + suffix)
        if target == path:
            return path
        if target.exists() and target.resolve() != path.resolve():
            raise LibraryError(f"There is already a “{target.name}” in that folder.")
        return self._move_with_history(path, target)

    def move(self, path: Path, folder: Path) -> Path:
        path = Path(path)
        folder = Path(folder)
        if path.is_dir() and (
            folder.resolve() == path.resolve() or path.resolve() in folder.resolve().parents
        ):
            raise LibraryError("A folder can't be moved into itself.")
        target = folder / path.name
        if target.exists():
            raise LibraryError(f"There is already a “{path.name}” in “{folder.name}”.")
        return self._move_with_history(path, target)

    def _move_with_history(self, source: Path, target: Path) -> Path:
        self.snapshots.move(source, target)
        move_notes(self.root, source, target)
        source.replace(target)
        return target

    def delete(self, path: Path, *, use_system_trash: bool = True) -> Path | None:
        return move_to_trash(self.root, Path(path), use_system_trash=use_system_trash)

    # ----- per-document notes (context for the AI features) ---------------------------------------
    def load_notes(self, document: Path) -> str:
        return load_notes(self.root, document)

    def save_notes(self, document: Path, text: str) -> None:
        save_notes(self.root, document, text)

    # ----- search ------------------------------------------------------------------------------
    def search(self, query: str, limit: int = 200) -> list[SearchHit]:
        needle = query.strip().lower()
        hits: list[SearchHit] = []
        if not needle:
            return hits
        for doc in self.documents():
            hits.extend(self.search_in(doc, needle))
            if len(hits) >= limit:
                return hits[:limit]
        return hits

    def search_in(self, document: Path, needle: str) -> list[SearchHit]:
        """Hits for ``needle`` (already lower-cased) in one document's title and text, so a
        caller can search a big library a few documents at a time."""
        hits = []
        if needle in document.stem.lower():
            hits.append(SearchHit(document, True, 0, document.stem))
        try:
            text = decode_document(document.read_bytes())
        except OSError:
            return hits
        if needle not in text.lower():
            return hits
        for number, line in enumerate(text.splitlines(), 1):
            if needle in line.lower():
                hits.append(SearchHit(document, False, number, line.strip()[:120]))
        return hits

    # ----- per-library configuration (spell-check language) -----------------------------------
    def config(self) -> dict[str, object]:
        try:
            raw = json.loads(
                (paths.meta_dir(self.root) / paths.LIBRARY_CONFIG_FILE).read_text(encoding="utf-8")
            )
        except (OSError, ValueError):
            return {}
        return raw if isinstance(raw, dict) else {}

    def set_config(self, key: str, value: object) -> None:
        data = self.config()
        data[key] = value
        path = paths.meta_dir(self.root) / paths.LIBRARY_CONFIG_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(data, indent=2))

    def spelling_language(self) -> str:
        value = self.config().get("spelling_language", "en")
        return value if isinstance(value, str) else "en"
