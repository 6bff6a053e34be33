"""Stage the built default model for an installer: the 4-bit variant, its tokenizer and a
manifest listing only those files (and the weights file beside a variant over 1 GB), checksums
verified, files read-only.

The app finds it as package data of ``inference.bundled_models`` (see
``inference.model_cache.bundled_models_dir``); it never needs ``draftsmith-model`` or
TensorFlow. ``DRAFTSMITH_BUNDLE_MODEL=/path/to/model-folder`` (``make dist-linux MODEL=DIR``)
picks another built folder: the app then uses that model unless the writer chooses another."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

from inference.model_folder import (
    MANIFEST_NAME,
    TOKENIZER_NAME,
    ModelFolder,
    ModelFolderError,
    find_default_model,
)

MODEL_ENV = "DRAFTSMITH_BUNDLE_MODEL"
VARIANT = "q4"


class BundleModelError(Exception):
    """No usable built model to put into the installer."""


def source_model() -> ModelFolder:
    chosen = os.environ.get(MODEL_ENV)
    try:
        folder = ModelFolder.open(chosen) if chosen else find_default_model()
    except ModelFolderError as error:
        raise BundleModelError(
            f"{MODEL_ENV} (MODEL=) must be a model folder built by `draftsmith-model build`: "
            f"{error}"
        ) from error
    if folder is None:
        raise BundleModelError(
            "No built default model was found. Build it first (`make model`, or "
            "`draftsmith-model build`), or set DRAFTSMITH_BUNDLE_MODEL to a model folder."
        )
    return folder


def bundled_variant(folder: ModelFolder) -> str:
    """The one variant an installer carries: the 4-bit one when the model has it."""
    return VARIANT if VARIANT in folder.variants else folder.default_variant


def stage_model(destination: Path, folder: ModelFolder | None = None) -> Path:
    """Copy the model's q4 variant into ``destination/<model folder name>``; returns it."""
    folder = folder or source_model()
    variant = bundled_variant(folder)
    folder.verify(variant)
    keep = [TOKENIZER_NAME, *folder.variant_files(variant)]
    manifest = dict(folder.manifest)
    manifest["variants"] = {variant: folder.variants[variant]}
    manifest["default_variant"] = variant
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


def model_notice(folder: ModelFolder) -> str:
    """One line for an installer's copyright/notice file: the bundled model and its license,
    as its GGUF metadata names them."""
    metadata = (folder.manifest.get("source") or {}).get("metadata") or {}
    license = metadata.get("license") or "license not recorded in its GGUF"
    by = f", {metadata['organization']}" if metadata.get("organization") else ""
    return f"Bundled model: {folder.name} ({license}{by})."


def bundled_model(bundle: Path) -> ModelFolder | None:
    """The model folder inside a built app bundle (``dist/draftsmith``), if any."""
    manifests = sorted(bundle.glob(f"**/bundled_models/*/{MANIFEST_NAME}"))
    return ModelFolder.open(manifests[0].parent) if manifests else None
