"""Ctrl+Shift+P: type a few letters of any action's name, press Enter."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from desktop.ui.action_registry import ActionRegistry


def match_rank(query: str, title: str) -> tuple[int, int] | None:
    """How well ``title`` answers ``query`` (lower is better), None when it doesn't: the
    query's letters must appear in order (``svas`` finds “Save As”). The title starting with
    the query comes first, then the query as the start of a word (“dark” is “Theme: Dark”
    before “Export as Markdown”), anywhere in a word, every typed word starting a word of
    the title (“exp pdf”), then letters in order, the closer together the better."""
    typed = query.lower().split()
    if not typed:
        return (0, 0)
    text = title.lower()
    phrase = " ".join(typed)
    at = text.find(phrase)
    if at == 0:
        return (0, 0)
    if at > 0:
        return (1 if not text[at - 1].isalnum() else 2, at)
    words = re.findall(r"\w+", text)
    if len(typed) > 1 and all(any(w.startswith(part) for w in words) for part in typed):
        return (3, 0)
    first = position = -1
    for char in "".join(typed):
        position = text.find(char, position + 1)
        if position < 0:
            return None
        first = position if first < 0 else first
    return (4, position - first)


class CommandPalette(QDialog):
    def __init__(self, registry: ActionRegistry, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("CommandPalette")
        self.registry = registry
        self.input = QLineEdit(self)
        self.input.setPlaceholderText("Type a command…")
        self.list = QListWidget(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.input)
        layout.addWidget(self.list)
        self.resize(520, 360)
        self.input.textChanged.connect(self.refill)
        self.input.returnPressed.connect(self.run_selected)
        self.list.itemActivated.connect(lambda _item: self.run_selected())
        self.input.installEventFilter(self)
        registry.refresh_enabled()
        self.refill("")

    def refill(self, query: str) -> None:
        self.list.clear()
        found = []
        for entry in sorted(self.registry.all(), key=lambda e: (e.menu or "~", e.title)):
            label = entry.title.replace("&", "").replace("…", "")
            rank = match_rank(query, label) if entry.action.isEnabled() else None
            if rank is not None:
                found.append((rank, label, entry))
        found.sort(key=lambda item: item[0])  # stable: equal ranks stay in menu order
        for _rank, label, entry in found:
            text = f"{entry.menu}: {label}" if entry.menu else label
            if entry.shortcut_text:
                text += f"    {entry.shortcut_text}"
            item = QListWidgetItem(text, self.list)
            item.setData(Qt.ItemDataRole.UserRole, entry.id)
        if self.list.count():
            self.list.setCurrentRow(0)

    def eventFilter(self, watched: object, event: object) -> bool:
        from PySide6.QtCore import QEvent

        if watched is self.input and event.type() == QEvent.Type.KeyPress:  # type: ignore[attr-defined]
            key = event.key()  # type: ignore[attr-defined]
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.list.currentRow() + (1 if key == Qt.Key.Key_Down else -1)
                self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
                return True
        return False

    def run_selected(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        action_id = item.data(Qt.ItemDataRole.UserRole)
        self.accept()
        self.registry.trigger(action_id)
