"""Keyboard focus goes back to the window a dialog came from when the dialog closes.

A window manager does this on most desktops; without one (a bare X server, some kiosk and
remote sessions) nothing does, and an inactive main window takes typed letters (they go to the
window under the pointer) but no shortcut at all: after closing Settings, Ctrl+N did nothing.
Only a dialog that was the active window when it closed hands focus back, so a dialog closing
by itself while the writer is in another application never pulls Draftsmith to the front.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QWidget


class DialogFocusReturn(QObject):
    """An application-wide event filter: install it once with ``install``."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # The dialog deactivated by the event being handled now (hiding an active dialog
        # deactivates it just before its Hide event): cleared once the event loop turns.
        self._just_deactivated: QDialog | None = None

    @classmethod
    def install(cls, app: QApplication) -> DialogFocusReturn:
        watcher = cls(app)
        app.installEventFilter(watcher)
        return watcher

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not isinstance(watched, QDialog) or not watched.isWindow():
            return False
        if event.type() == QEvent.Type.WindowDeactivate:
            self._just_deactivated = watched
            QTimer.singleShot(0, self, self._forget_deactivation)
        elif event.type() == QEvent.Type.Hide and (
            QApplication.activeWindow() is watched or self._just_deactivated is watched
        ):
            parent = watched.parentWidget()
            if parent is not None:
                owner = parent.window()
                QTimer.singleShot(0, owner, lambda: _activate(owner))
        return False

    def _forget_deactivation(self) -> None:
        self._just_deactivated = None


def _activate(owner: QWidget) -> None:
    """After the dialog has gone: a window manager may have activated a window already, and
    another modal dialog that opened in the meantime keeps the focus."""
    if QApplication.activeWindow() is not None or not owner.isVisible():
        return
    modal = QApplication.activeModalWidget()
    target = modal if modal is not None else owner
    target.activateWindow()
