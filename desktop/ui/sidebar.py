"""The sidebar: panes in tabs — the library tree (with search) and the outline. Other
features add their own pane with ``Sidebar.add_pane``."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import (
    QHeaderView,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.interpreter_lock import hand_over
from desktop.library import Library
from desktop.library.library import Node, SearchHit
from desktop.library.markdown_outline import Heading
from desktop.ui.library_word_counts import LibraryWordCounts

logger = logging.getLogger(__name__)

PATH_ROLE = Qt.ItemDataRole.UserRole
FOLDER_ROLE = Qt.ItemDataRole.UserRole + 1
# New documents that fit in this much GUI time are counted before the tree shows them; the
# rest (a big library's first start) fill in from the background.
COUNT_NOW_SECONDS = 0.008
# The counting thread (which reads the count cache first) starts this long after the window
# is built and its tree filled, not while they are.
COUNT_START_MS = 300
# Search reads documents on the GUI thread for this long, then goes on in a background thread
# (results keep appearing; a new query makes the old search stop).
SEARCH_NOW_SECONDS = 0.010
SEARCH_LIMIT = 200
# A listing this long fills the tree at once (a few ms); a longer one shows its folders and
# first documents at once and adds the rest between events, this long at a time, so a
# 10,000-document library opens about as fast as a small one and typing never waits.
FILL_NOW_DOCUMENTS = 300
FILL_SLICE_SECONDS = 0.005
COUNT_ALIGNMENT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class LibraryTree(QTreeWidget):
    """Drag a document or folder onto a folder (or the empty area: the top level) to move it.
    The tree never rearranges itself: the move happens on disk, then the tree is re-read."""

    dropped = Signal(Path, Path)  # what, onto which folder

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QTreeWidget.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)

    def folder_at(self, point: QPoint) -> Path:
        item = self.itemAt(point)
        if item is None:
            return self.root
        path = Path(item.data(0, PATH_ROLE))
        return path if item.data(0, FOLDER_ROLE) else path.parent

    def dropEvent(self, event: QDropEvent) -> None:
        source = self.currentItem()
        if event.source() is not self or source is None:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.IgnoreAction)  # don't let Qt move the item itself
        event.accept()
        self.dropped.emit(
            Path(source.data(0, PATH_ROLE)), self.folder_at(event.position().toPoint())
        )


class LibraryPane(QWidget):
    open_requested = Signal(Path, int)  # path, 1-based line (0: no jump)
    _search_found = Signal(int, object, bool)  # search number, list[SearchHit], finished
    context_requested = Signal(object, object)  # path or None, QPoint (global)
    move_requested = Signal(Path, Path)

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.search = QLineEdit(placeholderText="Search titles and text")
        self.search.setClearButtonEnabled(True)
        self.tree = LibraryTree(library.root)
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(2)
        self.tree.setIndentation(14)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.results = QListWidget()
        self.results.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        layout.addWidget(self.results)
        self.tree.dropped.connect(self.move_requested)
        self.tree.itemActivated.connect(self._open_item)
        self.tree.itemExpanded.connect(self._opened_by_writer)
        self.tree.itemClicked.connect(self._open_item)
        self.tree.customContextMenuRequested.connect(self._context)
        self.results.itemActivated.connect(self._open_result)
        self.results.itemClicked.connect(self._open_result)
        self.search.textChanged.connect(self.run_search)
        self._items: dict[str, QTreeWidgetItem] = {}  # path -> item, once built
        self._folder_items: list[QTreeWidgetItem] = []
        # Documents whose items are still to be built: (parent item or None for the top
        # level, the documents in order); filled a slice at a time by ``fill_timer``.
        self._unfilled: deque[tuple[QTreeWidgetItem | None, list[Node]]] = deque()
        # Folders to open once their last documents are in: rows added to an open folder
        # make the view lay out every shown row again (~7 ms per slice at 10,000 rows, on
        # top of the slice), rows added to a closed one cost nothing until it opens.
        self._expand_when_filled: set[int] = set()  # id() of the folder items
        self._when_filled: list[Callable[[], None]] = []
        self.fill_timer = QTimer(self, singleShot=True, interval=0)
        self.fill_timer.timeout.connect(self._fill_some)
        # Counts: right-aligned in the palette's quiet colour, set on each row (a Python
        # delegate deciding it at paint time needed the interpreter lock for every row
        # painted: the main stall while a big library's background work ran).
        self._count_brush = self.tree.palette().placeholderText()
        # Every row is one line: Qt need not measure each of 10,000 rows, nor a row whose
        # count changed.
        self.tree.setUniformRowHeights(True)
        self._documents: list[str] = []  # paths as text (no Path per document per listing)
        self._listed: set[str] = set()
        self._search_number = 0
        self._search_found.connect(self._show_hits)
        self._words: dict[str, int] = {}  # document path -> words shown
        self._folder_totals: dict[str, int] = {}  # folder path -> sum of its counts known
        self.word_counts = LibraryWordCounts(library, self)
        self.word_counts.counted.connect(self._on_counted)
        # Files other programs add, rename or delete appear without a restart.
        self.refresh_timer = QTimer(self, singleShot=True, interval=400)
        self.refresh_timer.timeout.connect(self._refresh_if_listing_changed)
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(self._on_folder_changed)
        self._listings: dict[str, frozenset[str]] = {}  # folder -> names shown
        self._changed_folders: set[str] = set()
        self._listings_made = False
        self.refresh()

    def refresh(self) -> None:
        """Re-list the library at once; counts come from the persistent cache (at start-up
        the counting thread reads it), new small documents are counted now, everything is
        verified in the background."""
        expanded = {
            item.data(0, PATH_ROLE)
            for item in self._folder_items
            if item.isExpanded() or id(item) in self._expand_when_filled
        }
        self.fill_timer.stop()
        self._unfilled.clear()
        self._expand_when_filled.clear()
        self.tree.clear()
        self._items.clear()
        self._folder_items.clear()
        root = self.library.tree(with_counts=False)
        documents: list[str] = []
        folders: list[str] = [str(self.library.root)]
        self._collect(root, documents, folders)
        self._documents = documents
        self._listed = set(documents)
        self._words = self._known_counts(documents)
        self._folder_totals = {}
        self._total_words(root)
        self._fill(root, expanded)
        # Wide enough for any count (measuring 10,000 rows would take longer than listing them).
        self.tree.header().resizeSection(1, self.fontMetrics().horizontalAdvance("00,000,000 "))
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self._watch_folders(folders)
        self._listings = self._listings_of(root)
        self._changed_folders.clear()
        # The first listing is the window's start-up: counting waits until it is up.
        self.word_counts.start(documents, delay_ms=0 if self._listings_made else COUNT_START_MS)
        self._listings_made = True

    def _listings_of(self, node: Node) -> dict[str, frozenset[str]]:
        found = {node.location: frozenset(child.name for child in node.children)}
        for child in node.children:
            if child.is_folder:
                found.update(self._listings_of(child))
        return found

    def _on_folder_changed(self, folder: str) -> None:
        self._changed_folders.add(folder)
        self.refresh_timer.start()

    def _refresh_if_listing_changed(self) -> None:
        """Every save makes a temporary file beside the document and renames it over it:
        rebuilding 10,000 rows after each autosave would stall the editor. Only a document or
        folder that came or went rebuilds the tree."""
        changed, self._changed_folders = self._changed_folders, set()
        if any(
            self.library.listing(Path(folder)) != self._listings.get(folder) for folder in changed
        ):
            self.refresh()
        else:  # a document rewritten in place by another program: its count, quietly
            self.word_counts.recount(
                [path for path in self._documents if os.path.dirname(path) in changed]
            )

    def _collect(self, node: Node, documents: list[str], folders: list[str]) -> None:
        for child in node.children:
            if child.is_folder:
                folders.append(child.location)
                self._collect(child, documents, folders)
            else:
                documents.append(child.location)

    def _known_counts(self, documents: list[str]) -> dict[str, int]:
        """Counts to show at once: remembered ones, and new small documents counted now. At
        start-up the cache is not read yet (~0.1 s for 10,000 documents): the counting
        thread reads it and sends what it remembers first."""
        if not self.library.word_counts_loaded:
            return {}
        words = self.library.remembered_word_counts(documents)
        if len(words) < len(documents):
            deadline = time.perf_counter() + COUNT_NOW_SECONDS
            for document in documents:
                if document not in words and time.perf_counter() < deadline:
                    words[document] = self.library.word_count(Path(document))
        return words

    def _on_counted(self, number: int, batch: list[tuple[str, int]]) -> None:
        if number != self.word_counts.current_pass:
            return  # a newer listing replaced the tree these counts were for
        folders: set[str] = set()
        for path, count in batch:
            folders.update(self._set_words(path, count))
        self._show_folder_totals(folders)

    def _show_folder_totals(self, folders: set[str] | list[str]) -> None:
        for folder in folders:
            item = self._items.get(folder)
            if item is not None:
                item.setText(1, f"{self._folder_totals.get(folder, 0):,}")

    def _set_words(self, path: str, count: int) -> list[str]:
        """Show a document's count; returns the folders whose totals changed. A document
        whose row is not built yet shows it when it is."""
        old = self._words.get(path)
        if path not in self._listed or old == count:
            return []
        self._words[path] = count
        item = self._items.get(path)
        if item is not None:
            item.setText(1, f"{count:,}")
        changed = []
        folder = os.path.dirname(path)
        while folder in self._folder_totals:  # the library's root has no row, nor a total
            self._folder_totals[folder] += count - (old or 0)
            changed.append(folder)
            folder = os.path.dirname(folder)
        return changed

    def set_document_words(self, path: Path, words: int) -> None:
        """A saved document's count (the editor knows it already; no disk read)."""
        self._show_folder_totals(self._set_words(str(path), words))

    def _watch_folders(self, folder_paths: list[str]) -> None:
        folders = set(folder_paths)
        watched = set(self.watcher.directories())
        if watched - folders:
            self.watcher.removePaths(sorted(watched - folders))
        if folders - watched:
            self.watcher.addPaths(sorted(folders - watched))

    def _total_words(self, node: Node) -> int:
        """Every folder's total of the counts known (before any row shows one)."""
        total = 0
        for child in node.children:
            if child.is_folder:
                total += self._total_words(child)
            else:
                total += self._words.get(child.location, 0)
        if node.location != str(self.library.root):
            self._folder_totals[node.location] = total
        return total

    def _fill(self, node: Node, expanded: set[str]) -> None:
        """Builds the rows detached, then inserts them at once (one model change instead of
        one per row). Past ``FILL_NOW_DOCUMENTS`` documents, the rest wait for
        ``_fill_some``: every folder shows at once, its documents follow in order."""
        budget = [FILL_NOW_DOCUMENTS]
        self.tree.addTopLevelItems(self._items_for(node, None, budget))
        filling = {id(parent) for parent, _ in self._unfilled if parent is not None}
        for folder in self._folder_items:
            if folder.data(0, PATH_ROLE) in expanded or len(expanded) == 0:
                if id(folder) in filling:
                    self._expand_when_filled.add(id(folder))
                else:
                    folder.setExpanded(True)
        if self._unfilled:
            self.fill_timer.start()
        else:
            self._run_when_filled()

    def _items_for(
        self, node: Node, parent: QTreeWidgetItem | None, budget: list[int]
    ) -> list[QTreeWidgetItem]:
        """``node``'s folders as rows, and as many of its documents as ``budget`` allows
        (the others are queued for ``_fill_some``, after the rows built here)."""
        items = []
        # A folder's first document comes now whatever the budget: the view repaints when a
        # shown folder gets its first row, and each slice of the fill would repaint it.
        has_document = False
        for index, child in enumerate(node.children):
            if child.is_folder:
                item = QTreeWidgetItem([child.title, f"{self._folder_totals[child.location]:,}"])
                item.setData(0, FOLDER_ROLE, True)  # documents: None (as few calls as possible)
                self._style_count(item)
                item.addChildren(self._items_for(child, item, budget))
                self._folder_items.append(item)
            elif budget[0] <= 0 and (has_document or parent is None):
                self._unfilled.append((parent, node.children[index:]))
                break
            else:
                has_document = True
                budget[0] -= 1
                item = self._document_item(child)
            item.setData(0, PATH_ROLE, child.location)
            self._items[child.location] = item
            items.append(item)
        return items

    def _document_item(self, node: Node) -> QTreeWidgetItem:
        words = self._words.get(node.location)
        item = QTreeWidgetItem([node.title, "" if words is None else f"{words:,}"])
        self._style_count(item)
        return item

    def _style_count(self, item: QTreeWidgetItem) -> None:
        item.setTextAlignment(1, COUNT_ALIGNMENT)
        item.setForeground(1, self._count_brush)

    def _fill_some(self) -> None:
        if not self._unfilled:  # every row is in: the waiting folders open in a turn of their own
            self._open_filled_folders()
            self._run_when_filled()
            return
        deadline = time.perf_counter() + FILL_SLICE_SECONDS
        while self._unfilled:  # at least one batch per slice, then until the deadline
            parent, documents = self._unfilled[0]
            batch, documents[:] = documents[:100], documents[100:]
            items = []
            for child in batch:
                item = self._document_item(child)
                item.setData(0, PATH_ROLE, child.location)
                self._items[child.location] = item
                items.append(item)
            if parent is None:
                self.tree.addTopLevelItems(items)
            else:
                parent.addChildren(items)
            if not documents:
                self._unfilled.popleft()
            if time.perf_counter() >= deadline:
                break
        self.fill_timer.start()
        # Counting competes with the filling for the interpreter lock: it waits.
        self.word_counts.postpone(COUNT_START_MS)

    def _open_filled_folders(self) -> None:
        """Opens the folders that waited for their rows, all at once: each opening makes the
        view lay out and repaint, and opening each as its last row came in did so once per
        slice. With a layout already scheduled, an opening only notes the folder and the view
        lays every row out once (opened one by one, each shifted every row below it: 21 ms
        for 1,000 folders of 10,000 documents, 3 ms this way)."""
        waiting, self._expand_when_filled = self._expand_when_filled, set()
        self.tree.scheduleDelayedItemsLayout()
        for folder in self._folder_items:
            if id(folder) in waiting:
                folder.setExpanded(True)

    def when_filled(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` from the event loop once every listed document has its row:
        a background thread started sooner (the spelling dictionary) would hold the
        interpreter lock while the GUI thread fills, stretching each slice past a frame."""
        self._when_filled.append(callback)
        if self.filled():
            self._run_when_filled()

    def _run_when_filled(self) -> None:
        callbacks, self._when_filled = self._when_filled, []
        for callback in callbacks:
            QTimer.singleShot(0, callback)

    def _opened_by_writer(self, item: QTreeWidgetItem) -> None:
        """A folder opened (by the writer, or by ``_fill_some``) is no longer waiting."""
        self._expand_when_filled.discard(id(item))

    def filled(self) -> bool:
        """Every listed document has its row and the folders waiting for theirs are open."""
        return not self._unfilled and not self._expand_when_filled

    def lists(self, path: Path) -> bool:
        """Whether the listing has this document or folder (its row may still be coming)."""
        key = str(path)
        return key in self._listed or key in self._folder_totals

    def apply_palette(self) -> None:
        """The theme changed: the counts take its quiet colour (one call per row)."""
        self._count_brush = self.tree.palette().placeholderText()
        for item in self._items.values():
            item.setForeground(1, self._count_brush)

    def _all_items(self) -> list[QTreeWidgetItem]:
        items = []
        stack = [self.tree.invisibleRootItem()]
        while stack:
            item = stack.pop()
            for index in range(item.childCount()):
                child = item.child(index)
                if child is not None:
                    items.append(child)
                    stack.append(child)
        return items

    def item_for(self, path: Path) -> QTreeWidgetItem | None:
        return self._items.get(str(path))

    def titles(self) -> list[str]:
        return [item.text(0) for item in self._all_items()]

    def words_shown_for(self, path: Path) -> str:
        item = self.item_for(path)
        return item.text(1) if item else ""

    def _open_item(self, item: QTreeWidgetItem) -> None:
        if not item.data(0, FOLDER_ROLE):
            self.open_requested.emit(Path(item.data(0, PATH_ROLE)), 0)

    def _context(self, point: QPoint) -> None:
        item = self.tree.itemAt(point)
        path = Path(item.data(0, PATH_ROLE)) if item else None
        self.context_requested.emit(path, self.tree.viewport().mapToGlobal(point))

    def run_search(self, query: str) -> None:
        self._search_number += 1
        number = self._search_number
        self.results.clear()
        needle = query.strip().lower()
        if not needle:
            self.results.hide()
            self.tree.show()
            return
        self.tree.hide()
        self.results.show()
        documents = iter(list(self._documents))
        deadline = time.perf_counter() + SEARCH_NOW_SECONDS
        for document in documents:
            self._add_hits(self.library.search_in(Path(document), needle))
            if self.results.count() >= SEARCH_LIMIT:
                return
            if time.perf_counter() > deadline:
                threading.Thread(
                    target=self._search_on,
                    args=(number, needle, documents, self.results.count()),
                    name="library-search",
                    daemon=True,
                ).start()
                return
        self._show_hits(number, [], True)

    def _search_on(self, number: int, needle: str, documents: Iterator[str], total: int) -> None:
        """The search thread: no widget is touched here (``total``: hits shown so far)."""
        found: list[SearchHit] = []
        sent = time.monotonic()
        for document in documents:
            if number != self._search_number:
                return
            found.extend(self.library.search_in(Path(document), needle))
            hand_over()
            if total + len(found) >= SEARCH_LIMIT:
                break
            if found and time.monotonic() - sent > 0.1:
                self._search_found.emit(number, found, False)
                total, found, sent = total + len(found), [], time.monotonic()
        self._search_found.emit(number, found, True)

    def _show_hits(self, number: int, hits: list[SearchHit], finished: bool) -> None:
        if number != self._search_number:
            return
        self._add_hits(hits)
        if finished and not self.results.count():
            QListWidgetItem("Nothing found", self.results).setFlags(Qt.ItemFlag.NoItemFlags)

    def _add_hits(self, hits: list[SearchHit]) -> None:
        for hit in hits[: max(0, SEARCH_LIMIT - self.results.count())]:
            label = (
                f"{hit.path.stem}" if hit.in_title else f"{hit.path.stem}:{hit.line}  {hit.excerpt}"
            )
            item = QListWidgetItem(label, self.results)
            item.setData(PATH_ROLE, (str(hit.path), hit.line))

    def _open_result(self, item: QListWidgetItem) -> None:
        data = item.data(PATH_ROLE)
        if data:
            self.open_requested.emit(Path(data[0]), int(data[1]))


class OutlinePane(QListWidget):
    heading_chosen = Signal(int)  # block number

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.itemActivated.connect(self._chosen)
        self.itemClicked.connect(self._chosen)

    def set_headings(self, headings: list[Heading]) -> None:
        self.clear()
        for heading in headings:
            item = QListWidgetItem("    " * (heading.level - 1) + heading.title, self)
            item.setData(PATH_ROLE, heading.line)

    def _chosen(self, item: QListWidgetItem) -> None:
        self.heading_chosen.emit(int(item.data(PATH_ROLE)))


class Sidebar(QTabWidget):
    def __init__(
        self, library_pane: LibraryPane, outline: OutlinePane, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Sidebar")
        self.setDocumentMode(True)
        self.panes: dict[str, QWidget] = {}
        self.add_pane("library", "Library", library_pane)
        self.add_pane("outline", "Outline", outline)

    def add_pane(self, pane_id: str, title: str, widget: QWidget) -> None:
        if pane_id in self.panes:
            raise ValueError(f"Sidebar pane {pane_id!r} already exists")
        self.panes[pane_id] = widget
        self.addTab(widget, title)

    def show_pane(self, pane_id: str) -> None:
        self.setCurrentWidget(self.panes[pane_id])
