"""Per-document notes (characters, plot points, style...) kept in ``.draftsmith/notes/``.

The AI features read them as context for a document; the file stays plain Markdown. A file
opened from outside the library keeps its notes under ``notes/outside/<hash of its path>/``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from desktop import paths
from desktop.library.atomic_write import atomic_write_text


def notes_path(library_root: Path, document: Path) -> Path:
    folder = paths.meta_dir(Path(library_root)) / paths.NOTES_DIR
    resolved = Path(document).resolve()
    try:
        return folder / resolved.relative_to(Path(library_root).resolve())
    except ValueError:
        key = hashlib.sha256(str(resolved).encode("utf-8")).hexdigest()[:32]
        return folder / "outside" / key / resolved.name


def load_notes(library_root: Path, document: Path) -> str:
    try:
        return notes_path(library_root, document).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def save_notes(library_root: Path, document: Path, text: str) -> None:
    path = notes_path(library_root, document)
    if not text:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)


def move_notes(library_root: Path, old_document: Path, new_document: Path) -> None:
    old = notes_path(library_root, old_document)
    if old.exists():
        new = notes_path(library_root, new_document)
        new.parent.mkdir(parents=True, exist_ok=True)
        old.replace(new)
