"""Layering, checked: the plain-Python rooms import without Qt and without TensorFlow.

Each import runs in a fresh interpreter whose import system refuses the forbidden packages, so
an import of one anywhere below (even a lazy one at module level) fails loudly, and nothing of
them may be in ``sys.modules`` afterwards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("PySide6", "shiboken6", "tensorflow", "keras", "tf2onnx")
PLAIN_ROOMS = (
    "atomic_write",
    "desktop.library",
    "desktop.sync",
    "inference.runtime",
    "inference.model_registry",
    "licensing.client",
)

PROBE = """
import importlib, importlib.abc, pkgutil, sys

FORBIDDEN = {forbidden!r}

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            raise ImportError(f"{{name}} may not be imported by {module}")
        return None

sys.meta_path.insert(0, Refuse())
package = importlib.import_module({module!r})
for info in pkgutil.walk_packages(getattr(package, "__path__", []), package.__name__ + "."):
    importlib.import_module(info.name)  # every module of the room, not only its front door
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & FORBIDDEN)
assert not loaded, f"{module} loaded {{loaded}}"
print("ok")
"""


def probe(module: str, forbidden: tuple[str, ...] = FORBIDDEN) -> subprocess.CompletedProcess:
    code = PROBE.format(module=module, forbidden=set(forbidden))
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("module", PLAIN_ROOMS)
def test_plain_rooms_import_without_qt_or_tensorflow(module: str) -> None:
    done = probe(module)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_the_probe_catches_a_forbidden_import() -> None:
    # desktop.ui is Qt by design: the same probe must refuse it, or it proves nothing.
    done = probe("desktop.ui.action_registry")
    assert done.returncode != 0
    assert "PySide6" in done.stderr and "may not be imported" in done.stderr
