"""Where built models live: a content-addressed cache in the user's cache directory.

A model folder's name is derived from the source weights' sha256 and the pipeline version,
so building the same GGUF twice finds the first build, and a new pipeline never reuses an
old build."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "Draftsmith"
CACHE_ENV = "DRAFTSMITH_MODEL_CACHE"
BUNDLED_MODELS_DIR = Path(__file__).resolve().parent.parent / "assets" / "models"


def model_cache_root() -> Path:
    """The folder holding built models (``$DRAFTSMITH_MODEL_CACHE`` overrides it)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "models"


def cache_key(source_sha256: str, pipeline_version: str) -> str:
    return f"{source_sha256[:16]}-p{pipeline_version}"


def model_search_path() -> list[Path]:
    """Folders the app looks in for model folders, most preferred first."""
    return [model_cache_root(), BUNDLED_MODELS_DIR]
