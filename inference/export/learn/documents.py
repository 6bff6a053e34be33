"""The writer's documents as training material: found, split by document, tokenized, packed.

Held-out documents are whole documents the adapter never sees, so "predicts your held-out
chapters better" means it learned the writer's style, not the text it was shown. Text is
read here and turned into token ids; it is never logged and never written anywhere."""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SUFFIXES = (".md", ".txt")
HELD_OUT_FRACTION = 0.2
MIN_DOCUMENTS = 2
MIN_TRAIN_TOKENS = 64
# Words of the writer's own text to learn from (the held-out documents not counted): below
# this an adapter has too little to learn a style from, and minutes of learning end in
# "not offered". The README's measured run learned from ~1,900 words (42 passages, 34 kept).
MIN_TRAIN_WORDS = 1000
SPLIT_SEED = 17


class DocumentsError(Exception):
    """The chosen documents cannot be learned from; the message says why in plain words."""


@dataclass(frozen=True)
class Document:
    path: Path  # relative to the chosen folder
    text: str


@dataclass(frozen=True)
class Split:
    train: list[Document]
    held_out: list[Document]

    def digest(self) -> str:
        """Identifies this exact material (for resuming the right run), without the text."""
        digest = hashlib.sha256()
        for part, documents in (("train", self.train), ("held_out", self.held_out)):
            for document in documents:
                digest.update(f"{part}\0{document.path.as_posix()}\0".encode())
                digest.update(hashlib.sha256(document.text.encode("utf-8")).digest())
        return digest.hexdigest()


@dataclass(frozen=True)
class Windows:
    """Packed token windows: ``ids`` [n, length + 1] (inputs and the next-token targets),
    ``weights`` [n, length] (1 where a target counts, 0 on padding)."""

    ids: np.ndarray
    weights: np.ndarray

    @property
    def tokens(self) -> int:
        return int(self.weights.sum())

    def __len__(self) -> int:
        return len(self.ids)


def find_documents(folder: Path, exclude: Collection[Path] = ()) -> list[Document]:
    """Every .md and .txt file under ``folder``, skipping hidden folders (the library's own
    ``.draftsmith`` snapshots and ``.trash``), the paths in ``exclude`` (relative to
    ``folder``: text that is not the writer's, such as the app's welcome page) and empty or
    unreadable files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DocumentsError(f"The folder {folder} does not exist.")
    skipped = {Path(path) for path in exclude}
    documents = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or relative in skipped:
            continue
        if path.suffix.lower() not in SUFFIXES or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            log.warning("Skipping a document that cannot be read (%s)", type(error).__name__)
            continue
        if text.strip():
            documents.append(Document(relative, text))
    return documents


def split_documents(documents: list[Document], fraction: float = HELD_OUT_FRACTION) -> Split:
    """A fixed shuffle by path, then the first fifth (at least one document) held out."""
    if len(documents) < MIN_DOCUMENTS:
        raise DocumentsError(
            f"Learning your style needs at least {MIN_DOCUMENTS} documents (one is kept aside "
            f"to measure the result); found {len(documents)}."
        )
    ordered = sorted(documents, key=lambda d: d.path.as_posix())
    random.Random(SPLIT_SEED).shuffle(ordered)
    count = max(1, round(fraction * len(ordered)))
    split = Split(train=ordered[count:], held_out=ordered[:count])
    words = sum(len(d.text.split()) for d in split.train)
    if words < MIN_TRAIN_WORDS:
        total = words + sum(len(d.text.split()) for d in split.held_out)
        raise DocumentsError(
            f"Learning your style needs more of your writing: at least {MIN_TRAIN_WORDS:,} "
            f"words to learn from, besides the {_documents(count)} kept aside to measure the "
            f"result. The {_documents(len(ordered))} found hold {total:,} words."
        )
    return split


def find_and_split(folder: Path, exclude: Collection[Path] = ()) -> Split:
    """The documents under ``folder`` but ``exclude``, split; ``DocumentsError`` says in words
    why they can't be learned from (checked before anything slow starts)."""
    return split_documents(find_documents(folder, exclude))


def _documents(count: int) -> str:
    return f"{count} document{'s' if count != 1 else ''}"


def pack(token_lists: list[list[int]], length: int, separator: int) -> Windows:
    """Documents joined with ``separator`` (end of text) and cut into windows of ``length``
    targets; the last window is padded and its padding does not count."""
    stream: list[int] = []
    for ids in token_lists:
        stream.extend(ids)
        stream.append(separator)
    count = max(1, -(-(len(stream) - 1) // length))
    windows = np.full((count, length + 1), separator, np.int64)
    weights = np.zeros((count, length), np.float32)
    for row in range(count):
        chunk = stream[row * length : row * length + length + 1]
        windows[row, : len(chunk)] = chunk
        weights[row, : max(0, len(chunk) - 1)] = 1.0
    return Windows(windows, weights)


def tokenize_split(split: Split, tokenizer, length: int, separator: int) -> tuple[Windows, Windows]:
    """Train and held-out windows (``tokenizer``: a ``tokenizers.Tokenizer``)."""

    def encode(documents: list[Document]) -> list[list[int]]:
        return [tokenizer.encode(d.text, add_special_tokens=False).ids for d in documents]

    train = pack(encode(split.train), length, separator)
    held_out = pack(encode(split.held_out), length, separator)
    if train.tokens < MIN_TRAIN_TOKENS:
        raise DocumentsError(
            f"The documents hold too little text to learn from ({train.tokens} tokens for "
            f"training; at least {MIN_TRAIN_TOKENS} are needed)."
        )
    return train, held_out
