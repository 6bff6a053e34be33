"""Ctrl+Shift+P: type a few letters of any action's name, press Enter."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from desktop.ui.action_registry import ActionRegistry


def matches(query: str, title: str) -> bool:
    """Letters of the query appear in order in the title (``svas`` finds “Save As”)."""
    position = 0
    title = title.lower()
    for char in query.lower().replace(" ", ""):
        position = title.find(char, position)
        if position < 0:
            return False
        position += 1
    return True


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
        for entry in sorted(self.registry.all(), key=lambda e: (e.menu or "~", e.title)):
            label = entry.title.replace("&", "").replace("…", "")
            if not entry.action.isEnabled() or not matches(query, label):
                continue
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
