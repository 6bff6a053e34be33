"""Stage the built default model for an installer: the 4-bit variant, its tokenizer and a
manifest listing only those two files, checksums verified, files read-only.

The app finds it as package data of ``inference.bundled_models`` (see
``inference.model_cache.bundled_models_dir``); it never needs ``draftsmith-model`` or
TensorFlow. ``DRAFTSMITH_BUNDLE_MODEL=/path/to/model-folder`` picks another built folder."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

from inference.model_folder import MANIFEST_NAME, TOKENIZER_NAME, ModelFolder, find_default_model

MODEL_ENV = "DRAFTSMITH_BUNDLE_MODEL"
VARIANT = "q4"


class BundleModelError(Exception):
    """No usable built model to put into the installer."""


def source_model() -> ModelFolder:
    chosen = os.environ.get(MODEL_ENV)
    folder = ModelFolder.open(chosen) if chosen else find_default_model()
    if folder is None:
        raise BundleModelError(
            "No built default model was found. Build it first (`make model`, or "
            "`draftsmith-model build`), or set DRAFTSMITH_BUNDLE_MODEL to a model folder."
        )
    if VARIANT not in folder.variants:
        raise BundleModelError(f"The model in {folder.path} has no '{VARIANT}' variant.")
    return folder


def stage_model(destination: Path, folder: ModelFolder | None = None) -> Path:
    """Copy the model's q4 variant into ``destination/<model folder name>``; returns it."""
    folder = folder or source_model()
    folder.verify(VARIANT)
    variant_file = folder.variant_path(VARIANT).name
    keep = [TOKENIZER_NAME, variant_file]
    manifest = dict(folder.manifest)
    manifest["variants"] = {VARIANT: folder.variants[VARIANT]}
    manifest["default_variant"] = VARIANT
    manifest["files"] = {name: folder.files[name] for name in keep}
    target = destination / folder.path.name
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in keep:
        shutil.copyfile(folder.path / name, target / name)
    (target / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    staged = ModelFolder.open(target)
    staged.verify()  # every file the trimmed manifest lists, against its checksum
    for path in target.iterdir():
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return target
