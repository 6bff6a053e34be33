"""PySide6's import hook no longer reads the source of every module imported after Qt."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import PySide6.QtCore

from desktop.ui.pyside_import_check import uses_pyside

REPO = Path(__file__).resolve().parents[2]


def test_a_module_imported_after_the_editors_modules_is_not_read_as_text(tmp_path: Path) -> None:
    (tmp_path / "plain_module.py").write_text("VALUE = 1\n", encoding="utf-8")
    script = (
        "import linecache, sys; sys.path.insert(0, sys.argv[1])\n"
        "from desktop.ui import pyside_import_check; pyside_import_check.install()\n"
        "import desktop.ui.main_window\n"
        "import plain_module\n"
        "print(any(name.endswith('plain_module.py') for name in linecache.cache))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"  # PySide6's own check reads it (``inspect``)


def test_the_draftsmith_command_installs_it_before_the_editor_imports() -> None:
    source = (REPO / "desktop" / "cli.py").read_text(encoding="utf-8")
    launch = source[source.index("def launch_editor") :]
    assert launch.index("pyside_import_check.install()") < launch.index("desktop.ui.app")


def test_the_models_process_never_loads_qt() -> None:
    script = "import sys, desktop.ui.model_process; print('PySide6' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_modules_holding_qt_names_use_pyside() -> None:
    holds_module = ModuleType("holds_module")
    holds_module.QtCore = PySide6.QtCore  # type: ignore[attr-defined]
    holds_class = ModuleType("holds_class")
    holds_class.QObject = PySide6.QtCore.QObject  # type: ignore[attr-defined]
    assert uses_pyside(holds_module) and uses_pyside(holds_class)
    assert not uses_pyside(json)


def test_an_odd_module_does_not_fail_its_import() -> None:
    class Odd(ModuleType):
        @property
        def __dict__(self) -> dict:  # type: ignore[override]
            raise RuntimeError("no namespace")

    assert uses_pyside(Odd("odd")) is False


def test_the_projects_modules_are_judged_as_pyside6s_own_check_would() -> None:
    """Every loaded project module that imports Qt at its top counts as using it; every one
    whose source never names PySide6 does not."""
    import desktop.ui.app  # noqa: F401  (the editor's modules)

    checked = 0
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not name.startswith(("desktop", "inference", "licensing")) or not path:
            continue
        source = Path(path).read_text(encoding="utf-8")
        if re.search(r"^(from|import) PySide6", source, re.MULTILINE):
            assert uses_pyside(module), name
        elif "PySide6" not in source:
            assert not uses_pyside(module), name
        checked += 1
    assert checked > 50
