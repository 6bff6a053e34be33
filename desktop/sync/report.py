"""What one sync round did: for the status log, and for the editor (paths to reload)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field


@dataclass
class SyncReport:
    """What one round did, for the status log and for the editor (reload changed paths)."""

    uploaded: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    deletions_waiting: list[str] = field(default_factory=list)
    skipped_busy: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    published_seq: int | None = None

    @property
    def changed_paths(self) -> list[str]:
        """Paths whose file on disk sync changed (written, removed or moved away/to)."""
        moved = [p for pair in self.renamed for p in pair]
        return sorted({*self.downloaded, *self.deleted, *self.conflicts, *moved})

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SyncReport:
        data = json.loads(text)
        data["renamed"] = [tuple(pair) for pair in data.get("renamed", [])]
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
