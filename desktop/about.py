"""What Help > About says: the app's version (from pyproject.toml, through the package
metadata), the AI model it uses, with the model file's checksum so support can tell
exactly which build a writer runs, and the license state in words."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from inference.model_folder import ModelFolder, ModelFolderError, find_default_model

DISTRIBUTION = "draftsmith"

logger = logging.getLogger(__name__)


def app_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown version"


@dataclass(frozen=True)
class ModelFacts:
    """The model the AI uses, as its manifest describes it (the one place About reads it)."""

    folder: Path | None = None  # None: no model installed, or it can't be read (``problem``)
    problem: str = ""
    name: str = ""
    variant: str = ""  # the default variant, e.g. "q4"
    file: str = ""  # that variant's model file; "" when the manifest names none
    checksum: str = ""  # the file's SHA-256 from the manifest; "" when not listed


def model_facts(folder: ModelFolder | None = None, *, chosen: Path | None = None) -> ModelFacts:
    """``folder``, else the model folder the writer chose (``chosen``), else the default one."""
    if folder is None:
        try:
            folder = ModelFolder.open(chosen) if chosen is not None else find_default_model()
        except (ModelFolderError, OSError) as error:
            return ModelFacts(problem=str(error))
    if folder is None:
        return ModelFacts()
    variant_file = str(folder.variants[folder.default_variant].get("file", ""))
    return ModelFacts(
        folder=folder.path,
        name=folder.name,
        variant=folder.default_variant,
        file=variant_file,
        checksum=folder.files.get(variant_file, "") if variant_file else "",
    )


def model_line(folder: ModelFolder | None = None) -> str:
    """One line naming the model and the checksum of its default variant's file."""
    facts = model_facts(folder)
    if facts.problem:
        return f"AI model: not available ({facts.problem})"
    if facts.folder is None:
        return "AI model: none installed"
    return f"AI model: {facts.name} ({facts.variant}), sha256 {facts.checksum[:16]}"


def about_text() -> str:
    return (
        f"Draftsmith {app_version()} — a calm writing app whose AI runs on your own machine.\n"
        f"{model_line()}"
    )


def license_summary() -> str:
    """The license state in one sentence ("Free trial: 14 days left."), for About and
    Settings; cached by ``license_status`` (no keyring read on the GUI thread once known)."""
    from licensing.client.status import license_status

    try:
        status = license_status()
    except Exception as exc:  # a broken license check must not break the window showing it
        logger.warning("License check failed: %s", exc)
        return "Couldn't check the license"
    # Each reason is a sentence that names the state.
    return status.reason or status.state.replace("_", " ").capitalize()
