"""The sidebar: panes in tabs — the library tree (with search) and the outline. Other
features add their own pane with ``Sidebar.add_pane``."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import (
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.library import Library
from desktop.library.library import Node
from desktop.library.markdown_outline import Heading

logger = logging.getLogger(__name__)

PATH_ROLE = Qt.ItemDataRole.UserRole
FOLDER_ROLE = Qt.ItemDataRole.UserRole + 1


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
        self.tree.itemClicked.connect(self._open_item)
        self.tree.customContextMenuRequested.connect(self._context)
        self.results.itemActivated.connect(self._open_result)
        self.results.itemClicked.connect(self._open_result)
        self.search.textChanged.connect(self.run_search)
        # Files other programs add, rename or delete appear without a restart.
        self.refresh_timer = QTimer(self, singleShot=True, interval=400)
        self.refresh_timer.timeout.connect(self.refresh)
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(lambda _path: self.refresh_timer.start())
        self.refresh()

    def refresh(self) -> None:
        expanded = {item.data(0, PATH_ROLE) for item in self._all_items() if item.isExpanded()}
        self.tree.clear()
        root = self.library.tree()
        self._fill(self.tree.invisibleRootItem(), root, expanded)
        self.tree.resizeColumnToContents(1)
        self.tree.header().setStretchLastSection(False)
        from PySide6.QtWidgets import QHeaderView

        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self._watch_folders()

    def _watch_folders(self) -> None:
        folders = {str(p) for p in self.library.folders()}
        watched = set(self.watcher.directories())
        if watched - folders:
            self.watcher.removePaths(sorted(watched - folders))
        if folders - watched:
            self.watcher.addPaths(sorted(folders - watched))

    def _fill(self, parent: QTreeWidgetItem, node: Node, expanded: set[str]) -> None:
        for child in node.children:
            item = QTreeWidgetItem(parent, [child.title, f"{child.words:,}"])
            item.setData(0, PATH_ROLE, str(child.path))
            item.setData(0, FOLDER_ROLE, child.is_folder)
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
            item.setForeground(1, self.palette().placeholderText())
            if child.is_folder:
                self._fill(item, child, expanded)
                item.setExpanded(str(child.path) in expanded or len(expanded) == 0)

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
        for item in self._all_items():
            if item.data(0, PATH_ROLE) == str(path):
                return item
        return None

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
        self.results.clear()
        if not query.strip():
            self.results.hide()
            self.tree.show()
            return
        self.tree.hide()
        self.results.show()
        for hit in self.library.search(query):
            label = (
                f"{hit.path.stem}" if hit.in_title else f"{hit.path.stem}:{hit.line}  {hit.excerpt}"
            )
            item = QListWidgetItem(label, self.results)
            item.setData(PATH_ROLE, (str(hit.path), hit.line))
        if not self.results.count():
            QListWidgetItem("Nothing found", self.results).setFlags(Qt.ItemFlag.NoItemFlags)

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
