"""How adventurous generation is: the settings only, without numpy (the editor builds
requests with them; ``sampling.py`` draws the tokens)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from inference.runtime.errors import InvalidRequestError

MAX_TEMPERATURE = 5.0


@dataclass(frozen=True)
class SamplingSettings:
    """How adventurous generation is. ``temperature=0`` means greedy (always the top token)."""

    temperature: float = 0.7
    top_k: int = 50
    top_p: float = 0.9
    min_p: float = 0.05
    repetition_penalty: float = 1.1
    repetition_window: int = 256
    no_repeat_ngram: int = 0
    seed: int | None = None

    def validated(self) -> SamplingSettings:
        """Reject values that make no sense; clamp the merely extreme ones."""
        for name in ("temperature", "top_p", "min_p", "repetition_penalty"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or math.isnan(value) or math.isinf(value):
                raise InvalidRequestError(f"The {name.replace('_', ' ')} must be a number.")
        if self.temperature < 0:
            raise InvalidRequestError(
                f"The temperature cannot be negative ({self.temperature}); use 0 for the most "
                "predictable text and about 0.7 for varied text."
            )
        if self.top_k < 0:
            raise InvalidRequestError(f"top-k cannot be negative ({self.top_k}); 0 turns it off.")
        if not 0 < self.top_p <= 1:
            raise InvalidRequestError(f"top-p must be above 0 and at most 1 ({self.top_p}).")
        if not 0 <= self.min_p < 1:
            raise InvalidRequestError(f"min-p must be at least 0 and below 1 ({self.min_p}).")
        if self.repetition_penalty <= 0:
            raise InvalidRequestError(
                f"The repetition penalty must be above 0 ({self.repetition_penalty}); "
                "1 turns it off."
            )
        if self.no_repeat_ngram < 0:
            raise InvalidRequestError("The no-repeat n-gram size cannot be negative (0: off).")
        if self.repetition_window < 0:
            raise InvalidRequestError("The repetition window cannot be negative.")
        return replace(
            self,
            temperature=min(float(self.temperature), MAX_TEMPERATURE),
            repetition_penalty=min(float(self.repetition_penalty), 10.0),
            no_repeat_ngram=min(self.no_repeat_ngram, 16),
        )

    @property
    def greedy(self) -> bool:
        return self.temperature == 0
