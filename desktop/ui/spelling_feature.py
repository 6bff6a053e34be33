"""Spelling: the dictionary behind the editors' red underlines, loaded off the GUI thread.

Installed into the window like the other features (see ``window_seam.EditorWindow``). It owns the
"Check spelling as you type" action, follows the ``spell_check`` setting and the library's
spelling language, and hands the loaded dictionary to every open editor.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from desktop import paths
from desktop.library.spelling import LANGUAGES, SpellDictionary
from desktop.ui.spell_loader import SpellLoader
from desktop.ui.window_seam import EditorWindow


class SpellingFeature(QObject):
    def __init__(self, window: EditorWindow, *, load: bool = True) -> None:
        super().__init__(window.window())
        self.window = window
        self.spell: SpellDictionary | None = None  # None while off or still loading
        # No parent: the loader's thread keeps it alive even if the window closes first
        # (emitting on a QObject deleted with its parent would crash).
        self.loader = SpellLoader()
        self.loader.loaded.connect(self._ready)
        self.loader.failed.connect(self._failed)
        window.settings_changed.connect(self._on_setting)
        if load and window.settings.get_bool("spell_check"):
            window.when_library_listed(self.load)

    def register_actions(self) -> None:
        """Called by the window where the action belongs in the Settings menu."""
        self.window.registry.register(
            "settings.spell",
            "Check spelling as you type",
            self.toggle,
            menu="Settings",
            checkable=True,
            checked=self.window.settings.get_bool("spell_check"),
        )

    def load(self) -> None:
        language = self.window.library.spelling_language()
        self.loader.load(language, paths.personal_dictionary_path())

    def _failed(self, message: str) -> None:
        self.window.statusBar().showMessage(message)

    def _ready(self, dictionary: SpellDictionary) -> None:
        if not self.window.settings.get_bool("spell_check"):
            return
        self.spell = dictionary
        for document in self.window.documents:
            document.editor.highlighter.set_spell(dictionary)

    def toggle(self) -> None:
        checked = self.window.registry.action("settings.spell").isChecked()
        self.window.change_setting("spell_check", checked)

    def _on_setting(self, key: str) -> None:
        if key != "spell_check":
            return
        on = self.window.settings.get_bool(key)
        self.window.registry.set_checked_quietly("settings.spell", on)
        if on:
            self.load()
        else:
            self.spell = None
            for document in self.window.documents:
                document.editor.highlighter.set_spell(None)

    def set_language(self, code: str) -> bool:
        """The spelling language belongs to the library (its config), not to this computer."""
        if code not in LANGUAGES:
            raise ValueError(f"No dictionary for {code!r}")
        try:
            self.window.library.set_config("spelling_language", code)
        except OSError as exc:
            self.window.prompter.error("Spelling language", f"{exc.strerror or exc}.")
            return False
        if self.window.settings.get_bool("spell_check"):
            self.load()
        return True
