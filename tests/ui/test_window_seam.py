"""The window seam (desktop/ui/window_seam.py): MainWindow provides every member of the
``EditorWindow`` Protocol, with the same signatures, and the features installed into the window
(AI, sync) use nothing of it beyond the Protocol. mypy proves the first statically too
(``_main_window_is_an_editor_window`` in window_seam.py)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

from PySide6.QtCore import SignalInstance

import desktop.ui
from desktop.ui.main_window import MainWindow
from desktop.ui.window_seam import EditorWindow

FEATURES = ("ai_feature.py", "sync_menu.py")


def seam_members() -> tuple[set[str], set[str]]:
    """(attributes, methods) the Protocol declares."""
    attributes = set(EditorWindow.__annotations__)
    methods = {
        name
        for name, value in vars(EditorWindow).items()
        if inspect.isfunction(value) and not name.startswith("_")
    }
    return attributes, methods


def test_the_seam_is_what_features_need_and_public() -> None:
    attributes, methods = seam_members()
    assert {"registry", "library", "prompter", "settings", "current_editor_changed"} <= attributes
    assert {"current_editor", "add_sidebar_pane", "add_status_widget", "show_pane"} <= methods
    assert not [name for name in attributes | methods if name.startswith("_")]


def test_main_window_satisfies_the_protocol(make_window: Any) -> None:
    window = make_window()
    assert isinstance(window, EditorWindow)
    attributes, methods = seam_members()
    for name in attributes:
        assert hasattr(window, name), name
    assert isinstance(window.current_editor_changed, SignalInstance)
    assert isinstance(window.settings_changed, SignalInstance)
    for name in methods:
        wanted = inspect.signature(getattr(EditorWindow, name))
        method = getattr(MainWindow, name)
        if inspect.isfunction(method):  # Qt's own methods (statusBar, window) have no signature
            have = inspect.signature(method)
            assert list(have.parameters) == list(wanted.parameters), name
            for param in have.parameters.values():
                assert param.kind == wanted.parameters[param.name].kind, (name, param.name)
                assert param.default == wanted.parameters[param.name].default, (name, param.name)


def test_features_use_only_the_seam() -> None:
    """Every ``window.x`` / ``self.window.x`` in the features is a member of the Protocol."""
    attributes, methods = seam_members()
    allowed = attributes | methods
    folder = Path(desktop.ui.__file__).parent
    used: dict[str, set[str]] = {}
    for name in FEATURES:
        tree = ast.parse((folder / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            owner = node.value
            is_window = (isinstance(owner, ast.Name) and owner.id == "window") or (
                isinstance(owner, ast.Attribute)
                and owner.attr == "window"
                and isinstance(owner.value, ast.Name)
                and owner.value.id == "self"
            )
            if is_window:
                used.setdefault(name, set()).add(node.attr)
    assert set(used) == set(FEATURES)  # the walk found the features' window calls at all
    beyond = {name: sorted(attrs - allowed) for name, attrs in used.items() if attrs - allowed}
    assert beyond == {}
