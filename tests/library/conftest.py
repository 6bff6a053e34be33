from __future__ import annotations

from pathlib import Path

import pytest

from desktop.library import Library


@pytest.fixture
def library(tmp_path: Path) -> Library:
    lib = Library(tmp_path / "Library")
    lib.ensure_exists(welcome=False)
    return lib


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """An empty folder (tmp_path also holds the isolated user dirs)."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder
