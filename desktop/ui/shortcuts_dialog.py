"""Help › Keyboard shortcuts: every command with its keys, read from the action registry (so
features added later, AI and sync, appear too), with a search box."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.action_registry import ActionRegistry

# Keys the editor handles itself (not commands in the registry).
EDITOR_KEYS = [
    ("Accept the AI suggestion", "Editor", "Tab"),
    ("Accept the suggestion's next word", "Editor", "Ctrl+Right"),
    ("Dismiss the AI suggestion", "Editor", "Esc"),
    ("Close the find bar", "Find", "Esc"),
]


def shortcut_rows(registry: ActionRegistry) -> list[tuple[str, str, str]]:
    """(command, menu, keys) for every registered command that has keys, menu order."""
    rows = []
    for entry in registry.all():
        keys = [
            k.toString(QKeySequence.SequenceFormat.NativeText) for k in entry.action.shortcuts()
        ]
        keys = [k for k in keys if k]
        # Platform extras such as the dedicated "Find" key are left out after the first.
        keys = keys[:1] + [k for k in keys[1:] if "+" in k]
        if keys:
            title = entry.action.text().replace("&", "") or entry.title
            rows.append((title, entry.menu or "—", ", ".join(keys)))
    return rows + EDITOR_KEYS


class ShortcutsDialog(QDialog):
    def __init__(self, registry: ActionRegistry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ShortcutsDialog")
        self.setWindowTitle(self.tr("Keyboard shortcuts"))
        self.resize(620, 560)
        self.search = QLineEdit(placeholderText=self.tr("Search commands or keys…"))
        self.search.setClearButtonEnabled(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels([self.tr("Command"), self.tr("Menu"), self.tr("Keys")])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        for row, values in enumerate(shortcut_rows(registry)):
            self.table.insertRow(row)
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.search.textChanged.connect(self.filter)
        self.search.setFocus()

    def _cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""

    def filter(self, text: str) -> None:
        words = text.lower().split()
        for row in range(self.table.rowCount()):
            cells = " ".join(self._cell(row, c).lower() for c in range(3))
            self.table.setRowHidden(row, not all(w in cells for w in words))

    def visible_commands(self) -> list[str]:
        return [
            self._cell(row, 0)
            for row in range(self.table.rowCount())
            if not self.table.isRowHidden(row)
        ]

    def keys_for(self, command: str) -> str | None:
        for row in range(self.table.rowCount()):
            if self._cell(row, 0) == command:
                return self._cell(row, 2)
        return None

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.search.text():
            self.search.clear()
            return
        super().keyPressEvent(event)
