"""The token embedding, read from the model's weights file a row at a time.

A pipeline-3 ``q4`` graph takes the embeddings of its tokens (``inputs_embeds``), not their
ids: the 8-bit table stays on disk, and each forward step reads the rows of its tokens with
``pread`` (through the page cache, never mapped into the process). Held in the session, the
table would be resident beside the output layer's packed copy of the same codes (the default
model: 31 MB; a tied 128k x 2,048 table: ~260 MB); memory-mapped, the kernel's fault-around
brings most of it back in after a few hundred distinct tokens.

The rows come out exactly as onnxruntime's ``GatherBlockQuantized`` computed them:
``(code - 128) * scale``, plus the block's offset where the type has one (Q4_1/Q5_1/Q4_K/
Q5_K tables, widened to 8 bits). Numpy only: the runtime and the export checks share it."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ZERO_POINT = 128  # GatherBlockQuantized's default for 8-bit codes


class EmbeddingTableError(Exception):
    """The manifest's description of the table does not fit its weights file."""


@dataclass(frozen=True)
class Span:
    """Where one tensor's bytes sit in the weights file."""

    offset: int
    length: int


@dataclass(frozen=True)
class EmbeddingTableEntry:
    """A variant's table as its manifest records it (``variants.<name>.embedding``)."""

    file: str
    rows: int
    cols: int
    block: int
    codes: Span  # uint8 [rows, cols]
    scales: Span  # float32 [rows, cols / block]
    minimum: Span | None = None  # float32 [rows, cols / block]

    def to_json(self) -> dict[str, Any]:
        spans = {"codes": self.codes, "scales": self.scales, "minimum": self.minimum}
        return {
            "file": self.file,
            "rows": self.rows,
            "cols": self.cols,
            "block": self.block,
            **{k: None if v is None else [v.offset, v.length] for k, v in spans.items()},
        }

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> EmbeddingTableEntry:
        try:
            minimum = entry.get("minimum")
            made = cls(
                file=str(entry["file"]),
                rows=int(entry["rows"]),
                cols=int(entry["cols"]),
                block=int(entry["block"]),
                codes=Span(*map(int, entry["codes"])),
                scales=Span(*map(int, entry["scales"])),
                minimum=None if minimum is None else Span(*map(int, minimum)),
            )
        except (KeyError, TypeError, ValueError) as error:
            missing = "its manifest does not describe its embedding table"
            raise EmbeddingTableError(missing) from error
        made._check()
        return made

    @property
    def blocks(self) -> int:
        return self.cols // self.block

    def _check(self) -> None:
        if self.rows <= 0 or self.block <= 0 or self.cols <= 0 or self.cols % self.block:
            raise EmbeddingTableError("its embedding table has an impossible shape")
        floats = self.rows * self.blocks * 4
        wanted = [(self.codes, self.rows * self.cols), (self.scales, floats)]
        if self.minimum is not None:
            wanted.append((self.minimum, floats))
        for span, length in wanted:
            if span.length != length or span.offset < 0:
                raise EmbeddingTableError("its embedding table's sizes do not match its shape")
        if Path(self.file).name != self.file:
            raise EmbeddingTableError("its embedding table names a file outside the model")


class EmbeddingTable:
    """Rows of one variant's table, read from ``folder / entry.file`` on demand."""

    def __init__(self, folder: Path, entry: EmbeddingTableEntry) -> None:
        self.entry = entry
        path = folder / entry.file
        self._file = path.open("rb", buffering=0)
        self._lock = threading.Lock()  # for the seek-and-read fallback (no os.pread)
        needed = max(
            span.offset + span.length
            for span in (entry.codes, entry.scales, entry.minimum)
            if span is not None
        )
        if os.fstat(self._file.fileno()).st_size < needed:
            self._file.close()
            raise EmbeddingTableError(f"{entry.file} is shorter than its embedding table")

    def lookup(self, token_ids: np.ndarray) -> np.ndarray:
        """Embeddings of ``token_ids`` (int [batch, n]) as float32 [batch, n, width]."""
        entry = self.entry
        ids = np.asarray(token_ids)
        order = ids.reshape(-1).tolist()
        if order and (min(order) < 0 or max(order) >= entry.rows):
            raise IndexError(f"token id outside the embedding table's {entry.rows} rows")
        slots = {row: slot for slot, row in enumerate(dict.fromkeys(order))}  # each row once
        count = len(slots)
        codes = np.empty((count, entry.cols), np.uint8)
        scales = np.empty((count, entry.blocks), np.float32)
        offsets = entry.minimum
        minimum = np.empty_like(scales) if offsets is not None else None
        for row, slot in slots.items():
            self._read_row(entry.codes, row, codes[slot])
            self._read_row(entry.scales, row, scales[slot])
            if offsets is not None and minimum is not None:
                self._read_row(offsets, row, minimum[slot])
        blocks = codes.reshape(count, entry.blocks, entry.block).astype(np.float32)
        blocks -= ZERO_POINT
        blocks *= scales[..., None]
        if minimum is not None:
            blocks += minimum[..., None]
        rows = blocks.reshape(count, entry.cols)
        if count != len(order):  # repeated tokens: one row per position
            rows = rows[[slots[row] for row in order]]
        return rows.reshape(*ids.shape, entry.cols)

    def _read_row(self, span: Span, row: int, out: np.ndarray) -> None:
        size = out.nbytes
        offset = span.offset + row * size
        view = out.data.cast("B")  # a row of a C-contiguous array
        if hasattr(os, "preadv"):
            got = os.preadv(self._file.fileno(), [view], offset)
        else:  # Windows
            with self._lock:
                self._file.seek(offset)
                got = self._file.readinto(view) or 0
        if got != size:
            raise EmbeddingTableError(f"{self.entry.file} ended inside the embedding table")

    def close(self) -> None:
        self._file.close()
