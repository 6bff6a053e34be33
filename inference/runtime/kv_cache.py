"""The model's key/value cache, kept between requests so a shared prompt prefix is reused.

Two layouts, chosen when the model loads:

* **shared buffers** (graphs whose attention is onnxruntime's ``GroupQueryAttention``): one
  preallocated ``[1, kv_heads, capacity, head_dim]`` buffer per layer and kind, bound as both
  the past input and the present output, so the model writes new positions in place. No step
  copies the cache, and dropping a suffix (prompt-cache reuse) is free.
* **growing** (any graph honouring the contract): one step's ``present.*`` outputs become the
  next step's ``past_key_values.*`` inputs as the same ``OrtValue`` objects.

Either way the cache remembers which tokens its positions belong to, so a new prompt sharing
a token prefix with them only computes its suffix."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import onnxruntime as ort

log = logging.getLogger(__name__)


class KVCache:
    """Per-layer past keys/values plus the token ids they were computed from."""

    def __init__(
        self,
        num_layers: int,
        num_kv_heads: int,
        head_dim: int,
        dtype: np.dtype,
        device: str = "cpu",
        device_id: int = 0,
        capacity: int | None = None,
    ) -> None:
        """``capacity`` set: shared-buffer layout holding at most that many positions."""
        self.num_layers = num_layers
        self.num_kv_heads = num_kv_heads
        self.head_dim = head_dim
        self.dtype = np.dtype(dtype)
        self.device = device
        self.device_id = device_id
        self.capacity = capacity
        self.tokens: list[int] = []
        self.values: list[ort.OrtValue] = []
        # The model's logits after the last cached token (None when not known).
        self.last_logits: np.ndarray | None = None
        if capacity is not None:
            shape = [1, num_kv_heads, capacity, head_dim]
            self.values = [
                ort.OrtValue.ortvalue_from_shape_and_type(shape, self.dtype, device, device_id)
                for _ in range(2 * num_layers)
            ]
        self.reset()

    @property
    def shared(self) -> bool:
        return self.capacity is not None

    @property
    def length(self) -> int:
        return len(self.tokens)

    def reset(self) -> None:
        """Forget everything: the next prompt is computed from scratch."""
        self.last_logits = None
        if self.shared:
            self.tokens = []
            return
        empty = np.zeros((1, self.num_kv_heads, 0, self.head_dim), dtype=self.dtype)
        self.tokens = []
        self.values = [self._to_device(empty) for _ in range(2 * self.num_layers)]

    def common_prefix(self, token_ids: Sequence[int]) -> int:
        """How many leading tokens of ``token_ids`` the cache already holds."""
        limit = min(len(self.tokens), len(token_ids))
        cached = self.tokens
        if limit and cached[:limit] == list(token_ids[:limit]):
            return limit
        # Binary search would need ordered data; a linear scan over ints is fast enough
        # (a few microseconds per thousand tokens) and simple.
        for index in range(limit):
            if cached[index] != token_ids[index]:
                return index
        return limit

    def truncate(self, length: int) -> None:
        """Keep only the first ``length`` positions (one copy of what is kept, per request)."""
        if length >= self.length:
            return
        self.last_logits = None
        if self.shared:  # later steps overwrite the dropped positions in place
            del self.tokens[max(length, 0) :]
            return
        if length <= 0:
            self.reset()
            return
        kept = []
        for value in self.values:
            array = value.numpy()[:, :, :length, :]
            kept.append(self._to_device(np.ascontiguousarray(array)))
        self.values = kept
        del self.tokens[length:]
        log.debug("kv cache truncated to %d positions", length)

    def copy_from(self, other: KVCache) -> None:
        """Hold what ``other`` holds (this cache: shared buffers on the CPU, large enough)."""
        if self.capacity is None or self.device != "cpu" or self.capacity < other.length:
            raise ValueError("copy_from needs a CPU cache of shared buffers with room")
        length = other.length
        for mine, theirs in zip(self.values, other.values, strict=True):
            mine.numpy()[:, :, :length, :] = theirs.numpy()[:, :, :length, :]
        self.tokens = list(other.tokens)
        self.last_logits = other.last_logits

    def replace(self, values: Sequence[ort.OrtValue], new_tokens: Sequence[int]) -> None:
        """Take a step's present tensors as the new past, covering ``new_tokens`` more."""
        if not self.shared:
            self.values = list(values)
        self.tokens.extend(int(t) for t in new_tokens)

    def nbytes(self) -> int:
        """Memory the cache holds now (the whole capacity for shared buffers)."""
        per_position = 2 * self.num_layers * self.num_kv_heads * self.head_dim
        positions = self.capacity if self.capacity is not None else self.length
        return per_position * self.dtype.itemsize * positions

    def _to_device(self, array: np.ndarray) -> ort.OrtValue:
        if self.device == "cpu":
            return ort.OrtValue.ortvalue_from_numpy(array)
        return ort.OrtValue.ortvalue_from_numpy(array, self.device, self.device_id)
