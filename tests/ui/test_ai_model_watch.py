"""The model cache watch: a model that appears (or is rebuilt) while the app runs is reported
once its folder has stopped changing, and only then."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from desktop.ui.ai_model_watch import ModelCacheWatch, model_fingerprint
from inference.model_folder import MANIFEST_NAME


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "models"
    monkeypatch.setenv("DRAFTSMITH_MODEL_CACHE", str(root))
    return root


def test_a_copied_model_is_reported_once_it_is_complete(
    qtbot: Any, cache: Path, tiny_model_dir: Path
) -> None:
    watch = ModelCacheWatch(interval_ms=50)
    reports: list[int] = []
    watch.changed.connect(lambda: reports.append(1))
    qtbot.wait(200)
    assert reports == [], "nothing in the cache, nothing to report"

    # A half-copied model: the manifest first, no weights yet (the cache folder is new too).
    target = cache / tiny_model_dir.name
    target.mkdir(parents=True)
    shutil.copy2(tiny_model_dir / MANIFEST_NAME, target / MANIFEST_NAME)
    half = model_fingerprint()
    assert half, "a folder with a manifest counts as a model"
    for item in tiny_model_dir.iterdir():
        if item.name != MANIFEST_NAME:
            shutil.copy2(item, target / item.name) if item.is_file() else shutil.copytree(
                item, target / item.name
            )
    qtbot.waitUntil(lambda: reports == [1], timeout=5_000)
    assert watch.loaded_from == model_fingerprint() != half
    qtbot.wait(200)
    assert reports == [1], "reported once"

    watch.loading()  # the app loads it
    manifest = target / MANIFEST_NAME
    stamp = manifest.stat()
    os.utime(manifest, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))  # rebuilt
    qtbot.waitUntil(lambda: reports == [1, 1], timeout=5_000)
    watch.stop()


def test_an_explicit_model_folder_is_watched_and_only_a_new_build_is_reported(
    qtbot: Any, tmp_path: Path, tiny_model_dir: Path
) -> None:
    folder = tmp_path / "my-model"
    shutil.copytree(tiny_model_dir, folder)
    watch = ModelCacheWatch(folder, interval_ms=50)
    reports: list[int] = []
    watch.changed.connect(lambda: reports.append(1))
    shutil.rmtree(folder)
    qtbot.wait(300)
    assert reports == [], "a model that disappears is not a model to load"
    shutil.copytree(tiny_model_dir, folder)  # the same files back (times kept): same model
    qtbot.wait(300)
    assert reports == []
    shutil.rmtree(folder)
    shutil.copytree(tiny_model_dir, folder, copy_function=shutil.copy)  # built anew
    qtbot.waitUntil(lambda: reports == [1], timeout=5_000)
    watch.stop()
