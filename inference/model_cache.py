"""Where built models live: a content-addressed cache in the user's cache directory.

A model folder's name is derived from the source weights' sha256 and the pipeline version,
so building the same GGUF twice finds the first build, and a new pipeline never reuses an
old build."""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

import platformdirs

APP_NAME = "Draftsmith"
CACHE_ENV = "DRAFTSMITH_MODEL_CACHE"
BUNDLED_MODELS_PACKAGE = "inference.bundled_models"


def model_cache_root() -> Path:
    """The folder holding built models (``$DRAFTSMITH_MODEL_CACHE`` overrides it)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "models"


def cache_key(source_sha256: str, pipeline_version: str) -> str:
    return f"{source_sha256[:16]}-p{pipeline_version}"


def bundled_models_dir() -> Path:
    """The read-only folder where an installer puts the default model (package data of
    ``inference.bundled_models``; empty in a source checkout or a plain wheel install)."""
    return Path(str(resources.files(BUNDLED_MODELS_PACKAGE)))


def installed_app() -> bool:
    """True in the installed app (a PyInstaller bundle): it carries its model and has no
    model-building tools (no TensorFlow)."""
    return bool(getattr(sys, "frozen", False))


def model_remedy() -> str:
    """What a writer does when the model is missing or damaged, for this kind of install."""
    if installed_app():
        return (
            "Reinstall Draftsmith to restore the model that comes with it; "
            "the editor works meanwhile."
        )
    return "Rebuild it with `draftsmith-model build` (or Settings > AI > Rebuild model)."


def model_search_path() -> list[Path]:
    """Folders the app looks in for model folders, most preferred first."""
    return [model_cache_root(), bundled_models_dir()]
