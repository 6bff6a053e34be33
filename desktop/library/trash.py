"""Deleting documents: to the system trash where there is one, else to ``<library>/.trash``."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from desktop import paths
from desktop.library.document_file import unique_path

logger = logging.getLogger(__name__)


def move_to_trash(
    library_root: Path, target: Path, *, use_system_trash: bool = True
) -> Path | None:
    """Return where it went inside the library's ``.trash``, or None for the system trash."""
    if use_system_trash:
        try:
            from send2trash import send2trash

            send2trash(str(target))
            return None
        except Exception as exc:  # send2trash raises many kinds when no trash exists
            logger.info("System trash unavailable (%s); using the library's .trash", exc)
    trash = Path(library_root) / paths.TRASH_DIR
    relative_parent = Path(target).resolve().parent.relative_to(Path(library_root).resolve())
    folder = trash / relative_parent
    folder.mkdir(parents=True, exist_ok=True)
    destination = unique_path(folder, Path(target).stem, Path(target).suffix)
    shutil.move(str(target), str(destination))
    return destination
