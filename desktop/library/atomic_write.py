"""The library's file writes: the project's one atomic-write helper (``atomic_write``), under
the names the library modules use. A missing folder is an error here, never created."""

from __future__ import annotations

from atomic_write import write_bytes as atomic_write_bytes
from atomic_write import write_text as atomic_write_text

__all__ = ["atomic_write_bytes", "atomic_write_text"]
