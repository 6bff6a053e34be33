"""PySide6 looks at every module imported after it, to know which ones may switch Qt's
``__feature__`` options (snake_case names, true properties): it reads the module's whole source
file and searches it for "PySide6" (``shibokensupport.feature._mod_uses_pyside``). The editor's
imports after Qt's are ~250 modules, and those reads took ~50 ms of their ~350 ms, much of it in
background threads holding the interpreter lock while the window paints (a start-up stall's
stack caught one in ``inspect.getsource``). Draftsmith uses no ``__feature__`` option, so the
question is answered from what the finished module holds instead: a Qt module or class among
its names."""

from __future__ import annotations

import sys
from types import ModuleType

QT_PACKAGES = ("PySide6", "shiboken6")


def uses_pyside(module: ModuleType) -> bool:
    """True when ``module`` holds a PySide6 module or class among its names. Never raises (an
    import hook that raised would fail the import)."""
    try:
        for value in list(vars(module).values()):
            if isinstance(value, ModuleType):
                name = value.__name__
            elif isinstance(value, type):
                name = value.__module__
            else:
                continue
            if isinstance(name, str) and name.startswith(QT_PACKAGES):
                return True
    except Exception:  # an odd module: count it as not using Qt, as PySide6 does
        return False
    return False


def install() -> bool:
    """Import Qt's bindings and replace PySide6's source-reading check with ``uses_pyside``
    (the ``draftsmith`` command does this before importing the editor); False where this
    PySide6 has no such check (another version: its own check stays)."""
    import shiboken6  # noqa: F401  (installs PySide6's import hook and its ``feature`` module)

    feature = sys.modules.get("shibokensupport.feature")
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False
    feature._mod_uses_pyside = uses_pyside  # type: ignore[attr-defined]
    return True
