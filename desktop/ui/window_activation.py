"""Keyboard focus goes to a window the writer opens, and back to the window a dialog came from
when the dialog closes.

A window manager does this on most desktops; without one (a bare X server, some kiosk and
remote sessions) nothing does, and an inactive main window takes typed letters (they go to the
window under the pointer) but no shortcut at all: after closing Settings, Ctrl+N did nothing,
and a dialog opened with ``show()`` (Keyboard shortcuts, About, the sync log) did not take the
keys, so Escape did not close it. ``present()`` shows a window and asks for the focus for it.
Only a dialog that had the focus when it closed hands it back, so a dialog closing by itself
while the writer is in another application never pulls Draftsmith to the front. It listens to
the application's focus changes (a few per dialog), not to every event.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QWidget


def present(window: QWidget) -> None:
    """Show ``window`` (a dialog the writer asked for) in front, with the keyboard focus."""
    window.show()
    window.raise_()
    window.activateWindow()


class DialogFocusReturn(QObject):
    """Install it once per application with ``install``."""

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        app.focusChanged.connect(self._focus_changed)

    @classmethod
    def install(cls, app: QApplication) -> DialogFocusReturn:
        return cls(app)

    def _focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        dialog = old.window() if old is not None and new is None else None
        if isinstance(dialog, QDialog) and dialog.parentWidget() is not None:
            # Once the event loop turns: a closing dialog is hidden by then, and a window
            # manager may have activated a window already.
            QTimer.singleShot(0, self, lambda: _return_focus(dialog))


def _return_focus(dialog: QDialog) -> None:
    if not shiboken6.isValid(dialog) or dialog.isVisible() or QApplication.activeWindow():
        return  # deleted, still open (the writer went to another application), or handled
    modal = QApplication.activeModalWidget()  # another dialog opened meanwhile keeps it
    parent = dialog.parentWidget()
    owner = modal if modal is not None else parent.window() if parent is not None else None
    if owner is not None and owner.isVisible():
        owner.activateWindow()
