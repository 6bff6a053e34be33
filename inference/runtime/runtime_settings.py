"""How the runtime loads and runs a model: the settings only, without numpy or onnxruntime,
so the editor can build them (and receive results, ``results.py``) without loading either.
The model itself runs in its own process (``desktop/ui/model_process.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inference.runtime.providers import SessionSettings

# The context used unless the settings say otherwise: enough for ~1500 words before the
# cursor, and quick to prefill on a laptop CPU. The model may allow more.
DEFAULT_CONTEXT_TOKENS = 2048

# 128 tokens per run: the 4-bit kernels are already in their matrix regime there, and a
# chunk's attention scores (heads x chunk x cached positions, ~6 MB at 1,300 positions) and
# the arena sized for them are half of 256's (default model, 1,300-token document: peak RSS
# -21 MB, same greedy tokens). A cancel lands within one chunk.
DEFAULT_PREFILL_CHUNK = 128


@dataclass(frozen=True)
class RuntimeSettings:
    device: str = "auto"
    threads: int | None = None
    variant: str | None = None
    context_tokens: int = DEFAULT_CONTEXT_TOKENS
    prefill_chunk: int = DEFAULT_PREFILL_CHUNK
    allow_spinning: bool = True
    spin_duration_us: int | None = 50  # see SessionSettings
    verify_files: bool = True
    # None: preallocated in-place KV buffers when the graph supports them (checked at load).
    shared_kv: bool | None = None
    # Check tokens guessed from the text so far in one run (see lookup_drafts.py): fewer
    # model runs where the text repeats phrases; False: one token per run.
    lookup_drafts: bool = True

    def session_settings(self) -> SessionSettings:
        from inference.runtime.providers import SessionSettings  # onnxruntime: model side

        return SessionSettings(
            device=self.device,
            threads=self.threads,
            allow_spinning=self.allow_spinning,
            spin_duration_us=self.spin_duration_us,
        )
