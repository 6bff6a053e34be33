"""Counts the model steps that still run after a cancel (the "within one step" promise)."""

from __future__ import annotations

import threading
from types import TracebackType

import numpy as np

from inference.runtime import LocalModel


class CancelProbe:
    """Sets ``cancel`` once ``after_pieces`` text pieces streamed; counts forward steps after."""

    def __init__(self, model: LocalModel, after_pieces: int) -> None:
        self.cancel = threading.Event()
        self.pieces: list[str] = []
        self.steps_after_cancel = 0
        self._model = model
        self._after = after_pieces
        self._forward = model.session.forward

    def __enter__(self) -> CancelProbe:
        self._model.session.forward = self._counting  # type: ignore[method-assign]
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        del self._model.session.forward  # the class's own method again

    def on_text(self, piece: str) -> None:
        self.pieces.append(piece)
        if len(self.pieces) == self._after:
            self.cancel.set()

    def _counting(self, ids: np.ndarray, cache: object) -> np.ndarray:
        if self.cancel.is_set():
            self.steps_after_cancel += 1
        return self._forward(ids, cache)  # type: ignore[arg-type]
