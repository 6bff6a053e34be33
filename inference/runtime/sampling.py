"""Choosing the next token from the model's logits.

Order of operations (the usual one, as in Hugging Face and llama.cpp): repetition penalty,
no-repeat n-gram ban, then greedy if temperature is 0, else temperature, top-k, min-p, top-p
and a seeded draw. Everything works on the last position's logits only, on small candidate
sets where possible, so the per-token cost stays in the tens of microseconds."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Sequence

import numpy as np

from inference.runtime.sampling_settings import MAX_TEMPERATURE, SamplingSettings

__all__ = ["MAX_TEMPERATURE", "Sampler", "SamplingSettings"]


class Sampler:
    """Stateful for one generation: remembers recent tokens for the penalties."""

    def __init__(self, settings: SamplingSettings, context: Sequence[int] = ()) -> None:
        self.settings = settings.validated()
        self._rng = np.random.default_rng(self.settings.seed)
        window = self.settings.repetition_window
        self._recent: deque[int] = deque(maxlen=window or None)
        self._counts: Counter[int] = Counter()
        n = self.settings.no_repeat_ngram
        self._ngram_size = n
        self._seen_ngrams: dict[tuple[int, ...], set[int]] = {}
        self._tail: deque[int] = deque(maxlen=max(n - 1, 0) or None)
        if self.settings.repetition_penalty != 1 and window:
            for token in list(context)[-window:]:
                self._remember(token)
        if n > 0:
            self._index_ngrams(context)

    def _remember(self, token: int) -> None:
        recent = self._recent
        if recent.maxlen is not None and len(recent) == recent.maxlen:
            dropped = recent[0]
            self._counts[dropped] -= 1
            if not self._counts[dropped]:
                del self._counts[dropped]
        recent.append(token)
        self._counts[token] += 1

    def _index_ngrams(self, tokens: Iterable[int]) -> None:
        for token in tokens:
            self._add_ngram_token(int(token))

    def _add_ngram_token(self, token: int) -> None:
        n = self._ngram_size
        if n == 1:
            self._seen_ngrams.setdefault((), set()).add(token)
            return
        if len(self._tail) == n - 1:
            self._seen_ngrams.setdefault(tuple(self._tail), set()).add(token)
        self._tail.append(token)

    def accept(self, token: int) -> None:
        """Record a generated token (it now counts for the penalties)."""
        if self.settings.repetition_penalty != 1 and self._recent.maxlen != 0:
            self._remember(token)
        if self._ngram_size > 0:
            self._add_ngram_token(token)

    def banned_tokens(self) -> list[int]:
        """Tokens that would repeat an n-gram already seen (no-repeat n-gram rule)."""
        n = self._ngram_size
        if n <= 0:
            return []
        key = () if n == 1 else tuple(self._tail)
        if n > 1 and len(key) < n - 1:
            return []
        return list(self._seen_ngrams.get(key, ()))

    def choose(self, logits: np.ndarray) -> int:
        """The next token id for these logits (a 1-D float vector over the vocabulary)."""
        settings = self.settings
        scores = np.asarray(logits, dtype=np.float32)
        edited = False
        if settings.repetition_penalty != 1 and self._counts:
            scores = scores.copy()
            edited = True
            ids = np.fromiter(self._counts.keys(), dtype=np.int64, count=len(self._counts))
            ids = ids[ids < scores.shape[0]]
            picked = scores[ids]
            penalty = settings.repetition_penalty
            scores[ids] = np.where(picked > 0, picked / penalty, picked * penalty)
        banned = self.banned_tokens()
        if banned:
            if not edited:
                scores = scores.copy()
            allowed_before = scores.copy()
            scores[banned] = -np.inf
            if not np.isfinite(scores).any():
                scores = allowed_before  # every token banned: the rule cannot be honoured
        if settings.greedy:
            return int(np.argmax(scores))
        return self._draw(scores)

    def _draw(self, scores: np.ndarray) -> int:
        settings = self.settings
        vocab = scores.shape[0]
        if 0 < settings.top_k < vocab:
            candidates = np.argpartition(scores, -settings.top_k)[-settings.top_k :]
        else:
            candidates = np.arange(vocab)
        cand_scores = scores[candidates].astype(np.float64) / settings.temperature
        order = np.argsort(-cand_scores, kind="stable")
        candidates = candidates[order]
        cand_scores = cand_scores[order]
        finite = np.isfinite(cand_scores)
        candidates, cand_scores = candidates[finite], cand_scores[finite]
        probs = np.exp(cand_scores - cand_scores[0])
        probs /= probs.sum()
        keep = len(probs)
        if settings.min_p > 0:
            keep = min(keep, int(np.count_nonzero(probs >= settings.min_p * probs[0])))
        if settings.top_p < 1:
            cumulative = np.cumsum(probs[:keep])
            keep = min(keep, int(np.searchsorted(cumulative, settings.top_p, side="left")) + 1)
        keep = max(keep, 1)
        probs = probs[:keep]
        cumulative = np.cumsum(probs)
        pick = int(np.searchsorted(cumulative, self._rng.random() * cumulative[-1], side="right"))
        return int(candidates[min(pick, keep - 1)])
