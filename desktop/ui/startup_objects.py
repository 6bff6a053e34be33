"""Python's cyclic garbage collector and what the editor builds at start-up.

A full collection walks every object the process holds. Start-up builds most of them (the
modules, the window, a big library's listing and its sidebar rows) and they live as long as the
window, so every full collection walked them for nothing: with a 10,000-document library one
took 13-17 ms on the GUI thread, and it fell wherever the allocation counters said (in our
runs, while the sidebar listed the library). The editor pauses collection while it imports
its modules and builds the window, then moves what exists into the permanent generation
(``gc.freeze``), and again once the sidebar has every row: later collections walk only what
the session itself creates.

Reference counting frees objects as before; only a reference cycle among frozen objects stays
uncollected, and start-up makes almost none (its collections found 0-132 objects to free)."""

from __future__ import annotations

import gc


def pause_collection() -> None:
    """No collection until ``resume_collection`` (from the start of the editor's imports)."""
    gc.disable()


def keep_out_of_collections() -> None:
    """Everything that exists now is never walked by a collection again."""
    gc.freeze()


def resume_collection() -> None:
    """Collect again, never walking what exists now."""
    keep_out_of_collections()
    gc.enable()
