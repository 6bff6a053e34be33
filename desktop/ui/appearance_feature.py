"""Appearance: the theme, the text column's font and measure, zoom and smart typography.

Installed into the window like the other features (see ``window_seam.EditorWindow``). It owns the
zoom, theme and "Smart quotes and dashes" actions, follows the settings that change how the text
looks (``settings_changed``) and the system's light/dark switch, and styles every editor.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol

from PySide6.QtGui import QActionGroup, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QApplication

from desktop.ui.document_editor import DocumentEditor
from desktop.ui.sidebar import LibraryPane
from desktop.ui.themes import Theme, apply_theme, resolve
from desktop.ui.window_seam import EditorWindow

# Settings that change how the text column looks.
EDITOR_LOOK_KEYS = frozenset(
    {"font_family", "font_size", "line_spacing", "measure_chars", "typewriter_scrolling"}
)


class AppearanceWindow(EditorWindow, Protocol):
    """The seam plus the library pane, whose colours follow the theme."""

    library_pane: LibraryPane


class AppearanceFeature:
    def __init__(self, window: AppearanceWindow) -> None:
        self.window = window
        self.settings = window.settings
        self.theme: Theme = resolve(self.settings.theme())
        self.theme_group: QActionGroup | None = None
        window.settings_changed.connect(self._on_setting)
        app = QApplication.instance()
        if isinstance(app, QGuiApplication):
            app.styleHints().colorSchemeChanged.connect(lambda _s: self._follow_system_theme())

    # ----- actions: registered by the window where each belongs in its menus -----
    def register_zoom_actions(self) -> None:
        r = self.window.registry.register
        key = QKeySequence.StandardKey
        r(
            "view.zoom_in",
            "Zoom in",
            lambda: self.zoom(+1),
            shortcut=[*QKeySequence.keyBindings(key.ZoomIn), QKeySequence("Ctrl+=")],
            menu="View",
        )
        r("view.zoom_out", "Zoom out", lambda: self.zoom(-1), shortcut=key.ZoomOut, menu="View")
        r("view.zoom_reset", "Actual size", lambda: self.zoom(0), shortcut="Ctrl+0", menu="View")

    def register_theme_actions(self) -> None:
        self.theme_group = QActionGroup(self.window.window())
        for name in ("light", "dark", "system"):
            theme_action = self.window.registry.register(
                f"view.theme.{name}",
                f"Theme: {name.capitalize()}",
                partial(self.set_theme, name),
                menu="View",
            )
            theme_action.setCheckable(True)  # the menu ticks the theme in use
            theme_action.setChecked(name == self.settings.theme())
            self.theme_group.addAction(theme_action)

    def register_smart_typography_action(self) -> None:
        self.window.registry.register(
            "settings.smart",
            "Smart quotes and dashes",
            self.toggle_smart_typography,
            menu="Settings",
            checkable=True,
            checked=self.settings.get_bool("smart_typography"),
        )

    # ----- the look -----
    def apply_look(self) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, self.theme)
        for document in self.window.documents:
            self.style_editor(document.editor)
        self.window.library_pane.apply_palette()

    def style_editor(self, editor: DocumentEditor) -> None:
        editor.apply_look(
            theme=self.theme,
            family=self.settings.get_str("font_family"),
            size=self.settings.get_int("font_size"),
            line_spacing=self.settings.get_int("line_spacing"),
            measure_chars=self.settings.get_int("measure_chars"),
        )
        editor.smart_typography = self.settings.get_bool("smart_typography")
        editor.typewriter = self.settings.get_bool("typewriter_scrolling")

    def _on_setting(self, key: str) -> None:
        if key == "theme":
            self.theme = resolve(self.settings.theme())
            self.apply_look()
            theme_action = self.window.registry.get(f"view.theme.{self.settings.theme()}")
            if theme_action is not None:
                theme_action.action.setChecked(True)
        elif key in EDITOR_LOOK_KEYS:
            for document in self.window.documents:
                self.style_editor(document.editor)
        elif key == "smart_typography":
            on = self.settings.get_bool(key)
            self.window.registry.set_checked_quietly("settings.smart", on)
            for document in self.window.documents:
                document.editor.smart_typography = on

    def set_theme(self, name: str) -> None:
        self.window.change_setting("theme", name)

    def _follow_system_theme(self) -> None:
        if self.settings.theme() == "system":
            self.theme = resolve("system")
            self.apply_look()

    def zoom(self, step: int) -> None:
        size = 13 if step == 0 else max(8, min(40, self.settings.get_int("font_size") + step))
        self.window.change_setting("font_size", size)

    def toggle_smart_typography(self) -> None:
        on = self.window.registry.action("settings.smart").isChecked()
        self.window.change_setting("smart_typography", on)
