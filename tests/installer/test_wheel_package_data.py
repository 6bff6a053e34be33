"""A plain wheel install (not editable, not a source checkout) finds the icons, the desktop
entry and the bundled-model folder through importlib.resources."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ["pyproject.toml", "README.md", "desktop", "inference", "licensing"]

PROBE = """
import configparser, json, sys
from pathlib import Path
import desktop, desktop.resources as r
from inference.model_cache import bundled_models_dir
entry = configparser.ConfigParser(interpolation=None)
entry.read(r.desktop_entry(), encoding="utf-8")
print(json.dumps({
    "package": desktop.__file__,
    "icon": str(r.icon()),
    "icon_is_svg": r.icon().read_text(encoding="utf-8").lstrip().startswith("<"),
    "tab_close": r.icon("tab-close.svg").is_file(),
    "exec": entry["Desktop Entry"]["Exec"],
    "icon_name": entry["Desktop Entry"]["Icon"],
    "bundled": str(bundled_models_dir()),
    "bundled_is_dir": bundled_models_dir().is_dir(),
}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        # Build isolation: the project needs a newer setuptools than a venv may carry.
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (built,) = out.glob("draftsmith-*.whl")
    return built


def test_wheel_carries_the_icons_desktop_entry_and_model_folder(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "desktop/resources/icons/draftsmith.svg",
        "desktop/resources/icons/tab-close.svg",
        "desktop/resources/icons/check-light.svg",
        "desktop/resources/icons/check-dark.svg",
        "desktop/resources/draftsmith.desktop",
        "inference/bundled_models/__init__.py",
    ):
        assert expected in names
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]


def test_fresh_venv_install_finds_its_resources(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         "--no-index", str(wheel)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    # Dependencies (PySide6, onnxruntime…) come from the shared environment; draftsmith itself
    # is only importable from the fresh venv (the shared one has it as an editable .pth, which
    # PYTHONPATH does not process).
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join(site.getsitepackages()),
    }
    probe = subprocess.run(
        [str(python), "-c", PROBE], cwd=tmp_path, env=env, check=True, capture_output=True,
        text=True,
    )  # fmt: skip
    found = json.loads(probe.stdout)
    assert found["package"].startswith(str(venv))
    assert found["icon"].startswith(str(venv)) and found["icon_is_svg"]
    assert found["tab_close"]
    assert found["exec"].startswith("draftsmith") and found["icon_name"] == "draftsmith"
    assert found["bundled"].startswith(str(venv)) and found["bundled_is_dir"]
