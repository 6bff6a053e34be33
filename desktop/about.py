"""What Help > About says: the app's version (from pyproject.toml, through the package
metadata) and the AI model it uses, with the model file's checksum so support can tell
exactly which build a writer runs."""

from __future__ import annotations

from importlib import metadata

from inference.model_folder import ModelFolder, ModelFolderError, find_default_model

DISTRIBUTION = "draftsmith"


def app_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown version"


def model_line(folder: ModelFolder | None = None) -> str:
    """One line naming the model and the checksum of its default variant's file."""
    try:
        folder = folder or find_default_model()
    except ModelFolderError as error:
        return f"AI model: not available ({error})"
    if folder is None:
        return "AI model: none installed"
    variant_file = folder.variants[folder.default_variant]["file"]
    checksum = folder.files.get(variant_file, "")
    return f"AI model: {folder.name} ({folder.default_variant}), sha256 {checksum[:16]}"


def about_text() -> str:
    return (
        f"Draftsmith {app_version()} — a calm writing app whose AI runs on your own machine.\n"
        f"{model_line()}"
    )
