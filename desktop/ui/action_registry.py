"""Every command the app offers, in one registry: menus, shortcuts and the command palette
are all built from it, so a feature added later (AI, sync) registers once and shows up
everywhere.

    registry.register("ai.continue", "Continue writing", callback, shortcut="Ctrl+J",
                      menu="AI", enabled=lambda: window.current_editor() is not None)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

logger = logging.getLogger(__name__)


# Menus put a separator where one section ends and the next begins. An action's section is
# named here, else it is its id without the last part for ids like "file.export.pdf" (every
# export format together), else the id's first part ("help", "sync": a feature's own block).
MENU_SECTIONS: dict[str, tuple[str, ...]] = {
    "file.open": ("file.new", "file.new_folder", "file.open", "file.open_file"),
    "file.save": ("file.save", "file.save_all"),
    "file.document": ("file.rename", "file.move", "file.delete", "file.history"),
    "file.close": ("file.close_tab", "file.quit"),
    "edit.undo": ("edit.undo", "edit.redo"),
    "edit.find": ("edit.find", "edit.replace", "edit.find_next", "edit.find_previous"),
    "view.panes": ("view.sidebar", "view.library", "view.outline"),
    "view.zoom": ("view.zoom_in", "view.zoom_out", "view.zoom_reset"),
    "view.tabs": ("view.next_tab", "view.previous_tab"),
    "settings.spelling": ("settings.smart", "settings.spell", "settings.language"),
    "ai.notes": ("ai.show_notes", "ai.learn_style"),
    "sync.setup": ("sync.setup",),
    "sync.round": ("sync.now", "sync.log"),
    "sync.versions": ("sync.history", "sync.deleted", "sync.retention", "sync.compact"),
    "sync.device": ("sync.passphrase", "sync.enabled", "sync.forget"),
}
_SECTION_OF = {action_id: section for section, ids in MENU_SECTIONS.items() for action_id in ids}


# A menu path's parts: "Settings › Sync" is the Sync submenu of Settings.
SUBMENU_SEPARATOR = " › "


def menu_section(action_id: str) -> str:
    if action_id in _SECTION_OF:
        return _SECTION_OF[action_id]
    parts = action_id.split(".")
    return ".".join(parts[:-1]) if len(parts) > 2 else parts[0]


@dataclass
class RegisteredAction:
    id: str
    title: str
    menu: str | None
    action: QAction
    enabled: Callable[[], bool] | None

    @property
    def shortcut_text(self) -> str:
        return self.action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)


class ActionRegistry(QObject):
    """Owns QActions; ``action_added`` lets the window put late arrivals into menus."""

    action_added = Signal(str)

    def __init__(self, owner: QWidget) -> None:
        super().__init__(owner)
        self._owner = owner
        self._actions: dict[str, RegisteredAction] = {}

    def register(
        self,
        action_id: str,
        title: str,
        callback: Callable[[], object],
        *,
        shortcut: str | QKeySequence | QKeySequence.StandardKey | list[QKeySequence] | None = None,
        menu: str | None = None,
        enabled: Callable[[], bool] | None = None,
        checkable: bool = False,
        checked: bool = False,
        tip: str = "",
    ) -> QAction:
        if action_id in self._actions:
            raise ValueError(f"Action {action_id!r} is already registered")
        action = QAction(title, self._owner)
        action.setObjectName(action_id)
        if isinstance(shortcut, (list, QKeySequence.StandardKey)):
            action.setShortcuts(shortcut)
        elif shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if checkable:
            action.setCheckable(True)
            action.setChecked(checked)
            action.toggled.connect(lambda _on: callback())
        else:
            action.triggered.connect(lambda *_args: callback())
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        self._owner.addAction(action)  # shortcuts work even in full screen with menus hidden
        self._actions[action_id] = RegisteredAction(action_id, title, menu, action, enabled)
        self.action_added.emit(action_id)
        return action

    def action(self, action_id: str) -> QAction:
        return self._actions[action_id].action

    def get(self, action_id: str) -> RegisteredAction | None:
        return self._actions.get(action_id)

    def all(self) -> list[RegisteredAction]:
        return list(self._actions.values())

    def set_checked_quietly(self, action_id: str, on: bool) -> None:
        """Tick or untick a checkable action without running its handler."""
        action = self.action(action_id)
        if action.isChecked() != on:
            action.blockSignals(True)
            action.setChecked(on)
            action.blockSignals(False)

    def trigger(self, action_id: str) -> None:
        self.refresh_enabled()
        action = self.action(action_id)
        if action.isEnabled():
            action.trigger()

    def refresh_enabled(self) -> None:
        for entry in self._actions.values():
            if entry.enabled is not None:
                try:
                    entry.action.setEnabled(bool(entry.enabled()))
                except Exception:  # a broken predicate must not break the menus
                    logger.exception("Enabled-check of %s failed", entry.id)
