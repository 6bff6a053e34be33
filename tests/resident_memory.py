"""How much of a file this process holds in memory through its mappings (Linux's /proc)."""

from __future__ import annotations

from pathlib import Path


def resident_bytes(path: Path | str) -> int:
    """Resident bytes of this process's mappings of ``path`` (``/proc/self/smaps``)."""
    target, resident, mapped = str(path), 0, False
    with open("/proc/self/smaps", encoding="utf-8", errors="replace") as smaps:
        for line in smaps:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:  # a mapping
                mapped = fields[-1] == target
            elif mapped and fields[0] == "Rss:":
                resident += int(fields[1]) * 1024
    return resident
