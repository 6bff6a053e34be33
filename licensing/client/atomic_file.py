"""The licensing client's file writes: the project's one atomic-write helper (``atomic_write``),
creating the license folder when it is missing."""

from __future__ import annotations

from pathlib import Path

import atomic_write


def write_atomically(path: Path, data: bytes) -> None:
    atomic_write.write_bytes(path, data, make_parents=True)
