"""What a request gives back: text, why it stopped, timings and the answer's check. Plain data
without numpy or onnxruntime (it crosses from the model's process to the editor's)."""

from __future__ import annotations

from dataclasses import dataclass, field

from inference.runtime.answer_check import AnswerCheck
from inference.runtime.stop_reason import StopReason
from inference.runtime.tasks import Task


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    reused_tokens: int = 0
    generated_tokens: int = 0
    prefill_seconds: float = 0.0
    first_token_seconds: float = 0.0
    decode_seconds: float = 0.0
    total_seconds: float = 0.0
    # Tokens guessed from the text so far and run in a chunk, and how many were chosen.
    drafted_tokens: int = 0
    accepted_draft_tokens: int = 0

    @property
    def computed_prompt_tokens(self) -> int:
        return self.prompt_tokens - self.reused_tokens

    @property
    def decode_tokens_per_second(self) -> float:
        """Tokens per second after the first one (the first one costs the prefill)."""
        steps = self.generated_tokens - 1
        return steps / self.decode_seconds if steps > 0 and self.decode_seconds > 0 else 0.0

    @property
    def prefill_tokens_per_second(self) -> float:
        computed = self.computed_prompt_tokens
        return computed / self.prefill_seconds if computed and self.prefill_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "reused_prompt_tokens": self.reused_tokens,
            "generated_tokens": self.generated_tokens,
            "prefill_seconds": round(self.prefill_seconds, 4),
            "time_to_first_token_seconds": round(self.first_token_seconds, 4),
            "decode_seconds": round(self.decode_seconds, 4),
            "total_seconds": round(self.total_seconds, 4),
            "prefill_tokens_per_second": round(self.prefill_tokens_per_second, 2),
            "decode_tokens_per_second": round(self.decode_tokens_per_second, 2),
            "drafted_tokens": self.drafted_tokens,
            "accepted_draft_tokens": self.accepted_draft_tokens,
        }


@dataclass(frozen=True)
class TaskResult:
    task: Task
    text: str
    raw_text: str
    stop_reason: StopReason
    stats: GenerationStats
    context_cut: bool
    # Whether the answer passed its task's rules (see answer_check.py); the editor shows a
    # failing answer marked with the reasons and asks before it reaches the document.
    check: AnswerCheck = field(default_factory=AnswerCheck)

    @property
    def cancelled(self) -> bool:
        return self.stop_reason is StopReason.CANCELLED
