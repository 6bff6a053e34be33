"""The generation loop: prefill once (reusing the cached prefix), then one token per step,
or several when tokens drafted from the text so far (``lookup_drafts.py``) are confirmed by
one model run over them: every token is still chosen from the model's logits at its place.

One ``Generator`` owns a model session and its KV cache. Only one generation or warm-up
runs at a time (a lock); a generation pre-empts a background warm-up, which stops after its
current chunk and keeps what it computed. Cancellation is checked between steps, so a cancel
returns within one model step."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from inference.runtime.errors import InvalidRequestError
from inference.runtime.kv_cache import KVCache
from inference.runtime.lookup_drafts import LookupDrafter
from inference.runtime.model_session import ModelSession
from inference.runtime.results import GenerationStats
from inference.runtime.runtime_settings import DEFAULT_PREFILL_CHUNK
from inference.runtime.sampling import Sampler, SamplingSettings
from inference.runtime.stop_reason import StopReason
from inference.runtime.stop_strings import StopStringFilter

log = logging.getLogger(__name__)

WARM_PREFILL_CHUNK = 128
# Task prompt prefixes kept (each holds only its own positions: a few MB).
MAX_PREFIX_CACHES = 8

TextCallback = Callable[[str], None]


class CancelFlag(Protocol):
    """Anything with ``is_set()``, such as ``threading.Event``."""

    def is_set(self) -> bool: ...


class StreamingDecoder(Protocol):
    """Turns token ids, one at a time, into text pieces that are always whole characters."""

    def step(self, token_id: int) -> str | None: ...


@dataclass
class GenerationOutput:
    text: str
    token_ids: list[int]
    stop_reason: StopReason
    stats: GenerationStats = field(default_factory=GenerationStats)


class Generator:
    """Runs prompts through one model session, keeping the KV cache between requests."""

    def __init__(
        self,
        model: ModelSession,
        decoder_factory: Callable[[], StreamingDecoder],
        *,
        prefill_chunk: int = DEFAULT_PREFILL_CHUNK,
        lookup_drafts: bool = True,
    ) -> None:
        """``lookup_drafts``: check tokens guessed from the text so far in one run (fewer
        runs; needs a graph with ``logit_rows`` and the in-place cache)."""
        self.model = model
        self.lookup_drafts = lookup_drafts
        self.decoder_factory = decoder_factory
        self.prefill_chunk = max(1, prefill_chunk)
        self.cache = model.new_cache()  # follows the document (continue, warm-ups)
        # One small cache per task prompt prefix (the worked examples), most recent last:
        # a task's fixed prefix is computed once, whatever ran in between.
        self.prefix_caches: OrderedDict[tuple[int, ...], KVCache] = OrderedDict()
        self._lock = threading.Lock()
        self._preempt_warm = threading.Event()
        self._step_ids = np.zeros((1, 1), dtype=np.int64)
        self._scratch: KVCache | None = None  # for scoring, beside the document's cache
        self._task_cache: KVCache | None = None  # requests with a task prefix (see _cache_for)

    @property
    def context_length(self) -> int:
        return self.model.context_length

    def clear_cache(self) -> None:
        with self._lock:
            self.cache.reset()
            self.prefix_caches.clear()
            if self._task_cache is not None:
                self._task_cache.reset()

    # -- prefill -----------------------------------------------------------------------

    def _prefill(
        self,
        prompt: Sequence[int],
        cancel: CancelFlag | None,
        chunk: int,
        stats: GenerationStats | None = None,
        cache: KVCache | None = None,
    ) -> np.ndarray | None:
        """Bring ``cache`` (default: the document's) to ``prompt``; returns the logits after
        it (None when cancelled)."""
        cache = cache or self.cache
        shared = cache.common_prefix(prompt)
        if shared == len(prompt) == cache.length and cache.last_logits is not None:
            if stats is not None:
                stats.reused_tokens = shared
            return cache.last_logits
        shared = min(shared, len(prompt) - 1)  # at least one token must run to give logits
        cache.truncate(shared)
        cache.last_logits = None
        if stats is not None:
            stats.reused_tokens = shared
        logits = None
        position = shared
        while position < len(prompt):
            if cancel is not None and cancel.is_set():
                return None
            piece = np.asarray(prompt[position : position + chunk], dtype=np.int64)[None, :]
            logits = self.model.forward(piece, cache)
            position += piece.shape[1]
            cache.last_logits = logits
        return logits

    def _cache_for(
        self, prompt: Sequence[int], shared_prefix: int, cancel: CancelFlag | None
    ) -> KVCache | None:
        """The document's cache, or one that starts with the prompt's task prefix when the
        document's cache does not already hold that prefix (None when cancelled).

        Each task prefix keeps a small growing cache of its own positions. With in-place
        buffers on the CPU, the request itself runs in one shared task cache that the
        prefix is copied into (drafts need a cache that drops positions for free); else in
        the prefix's cache, which then also holds the request's positions."""
        if shared_prefix <= 0 or self.cache.common_prefix(prompt) >= shared_prefix:
            return self.cache
        key = tuple(prompt[:shared_prefix])
        prefix = self.prefix_caches.pop(key, None)
        if prefix is None:
            prefix = self.model.new_cache(growing=True)
        self.prefix_caches[key] = prefix
        while len(self.prefix_caches) > MAX_PREFIX_CACHES:
            self.prefix_caches.popitem(last=False)
        if not (self.cache.shared and self.cache.device == "cpu"):
            return prefix
        if self._task_cache is None:
            self._task_cache = self.model.new_cache()
        task = self._task_cache
        if task.common_prefix(prompt) < shared_prefix:
            if self._prefill(key, cancel, self.prefill_chunk, cache=prefix) is None:
                return None
            task.copy_from(prefix)
        return task

    def warm(self, prompt: Sequence[int], cancel: CancelFlag | None = None) -> int:
        """Prefill ``prompt`` into the cache so a later request that starts with it is fast.

        Returns how many prompt tokens are cached afterwards. A generation that starts
        meanwhile pre-empts the warm-up after its current chunk."""
        self._check_prompt(prompt)
        with self._lock:
            self._preempt_warm.clear()
            stop = _AnyEvent(cancel, self._preempt_warm)
            self._prefill(prompt, stop, WARM_PREFILL_CHUNK)
            return self.cache.common_prefix(prompt)

    def warm_in_background(
        self, prompt: Sequence[int], cancel: CancelFlag | None = None
    ) -> threading.Thread:
        """``warm`` on a daemon thread (returned, already started)."""
        thread = threading.Thread(
            target=self._warm_quietly,
            args=(list(prompt), cancel),
            name="draftsmith-warm",
            daemon=True,
        )
        thread.start()
        return thread

    def _warm_quietly(self, prompt: list[int], cancel: CancelFlag | None) -> None:
        try:
            self.warm(prompt, cancel)
        except Exception:  # a failed warm-up only costs speed later
            log.exception("background warm-up failed")

    def _check_prompt(self, prompt: Sequence[int]) -> None:
        if not prompt:
            raise InvalidRequestError("There is no text to work with.")
        if len(prompt) >= self.context_length:
            raise InvalidRequestError(
                f"The prompt has {len(prompt)} tokens but the model reads at most "
                f"{self.context_length - 1} before writing; shorten the text."
            )

    # -- scoring -----------------------------------------------------------------------

    def token_surprisals(
        self, token_ids: Sequence[int], cancel: CancelFlag | None = None
    ) -> list[float]:
        """How surprising each token is to the model after the ones before it (nats; the
        first token, having no context, gets 0). Runs on a scratch cache of its own, so the
        document's prompt cache is kept."""
        self._check_prompt(token_ids)
        with self._lock:
            if self._scratch is None:
                self._scratch = self.model.new_cache()
            scratch = self._scratch
            scratch.reset()
            surprisals = [0.0]
            step = np.zeros((1, 1), dtype=np.int64)
            for index, token in enumerate(token_ids[:-1]):
                if cancel is not None and cancel.is_set():
                    break
                step[0, 0] = token
                logits = self.model.forward(step, scratch).astype(np.float64)
                top = float(logits.max())
                log_total = top + float(np.log(np.exp(logits - top).sum()))
                surprisals.append(log_total - float(logits[token_ids[index + 1]]))
            scratch.reset()
            return surprisals

    # -- generation --------------------------------------------------------------------

    def generate(
        self,
        prompt: Sequence[int],
        *,
        max_new_tokens: int,
        sampling: SamplingSettings,
        stop_token_ids: Sequence[int] = (),
        stop_strings: Sequence[str] = (),
        keep_stop_strings: Sequence[str] = (),
        on_text: TextCallback | None = None,
        cancel: CancelFlag | None = None,
        penalty_context: Sequence[int] = (),
        min_new_tokens: int = 1,
        stop_after_text: bool = False,
        first_token_bans: Sequence[int] = (),
        shared_prefix: int = 0,
    ) -> GenerationOutput:
        """Generate up to ``max_new_tokens`` after ``prompt``, streaming text to ``on_text``.

        ``shared_prefix``: how many leading prompt tokens every request of this kind shares
        (a task's worked examples); they are kept in a cache of their own."""
        self._check_prompt(prompt)
        if max_new_tokens < 1:
            raise InvalidRequestError("At least one token must be generated.")
        sampler = Sampler(sampling, penalty_context)
        started = time.perf_counter()
        self._preempt_warm.set()
        with self._lock:
            self._preempt_warm.clear()
            stats = GenerationStats(prompt_tokens=len(prompt))
            cache = self._cache_for(prompt, shared_prefix, cancel)
            logits = None
            if cache is not None:
                logits = self._prefill(prompt, cancel, self.prefill_chunk, stats, cache)
            stats.prefill_seconds = time.perf_counter() - started
            if logits is None:
                stats.total_seconds = stats.prefill_seconds
                return GenerationOutput("", [], StopReason.CANCELLED, stats)
            output = self._decode(
                logits,
                sampler,
                max_new_tokens,
                min_new_tokens,
                set(stop_token_ids),
                StopStringFilter(stop_strings, keep_stop_strings, after_text=stop_after_text),
                on_text,
                cancel,
                stats,
                started,
                [t for t in first_token_bans if 0 <= t < logits.shape[0]],
                cache,
                prompt,
            )
        stats.total_seconds = time.perf_counter() - started
        return output

    def _decode(
        self,
        logits: np.ndarray,
        sampler: Sampler,
        max_new_tokens: int,
        min_new_tokens: int,
        stop_ids: set[int],
        stops: StopStringFilter,
        on_text: TextCallback | None,
        cancel: CancelFlag | None,
        stats: GenerationStats,
        started: float,
        first_token_bans: list[int] | None = None,
        cache: KVCache | None = None,
        prompt: Sequence[int] = (),
    ) -> GenerationOutput:
        cache = cache or self.cache
        drafting = self.lookup_drafts and cache.shared and self.model.multi_row_logits
        drafter: LookupDrafter | None = None  # built at the first model run: TTFT unchanged
        # Drafted tokens the model has run but no chosen token has matched yet, each with
        # the logits after it.
        drafted: list[tuple[int, np.ndarray]] = []
        last_draft = taken = 0  # the last draft's length and how many of it were chosen
        decoder = self.decoder_factory()
        pieces: list[str] = []
        generated: list[int] = []
        reason = StopReason.MAX_TOKENS
        first_token_at = 0.0
        stop_list = [t for t in stop_ids if 0 <= t < logits.shape[0]]
        while True:
            if cancel is not None and cancel.is_set():
                reason = StopReason.CANCELLED
                break
            early_bans = stop_list if len(generated) < min_new_tokens else []
            if not generated and first_token_bans:
                early_bans = early_bans + first_token_bans  # e.g. no blank line to begin with
            if early_bans:
                early = logits.copy()  # an empty answer helps nobody: no end token yet
                early[early_bans] = -np.inf
                token = sampler.choose(early)
            else:
                token = sampler.choose(logits)
            if not generated:
                first_token_at = time.perf_counter()
                stats.first_token_seconds = first_token_at - started
            if token in stop_ids:
                reason = StopReason.END_TOKEN
                break
            generated.append(token)
            sampler.accept(token)
            piece = decoder.step(token)
            if piece:
                shown = stops.feed(piece)
                if shown:
                    pieces.append(shown)
                    if on_text is not None:
                        on_text(shown)
                if stops.stopped:
                    reason = StopReason.STOP_STRING
                    break
            if len(generated) >= max_new_tokens:
                reason = StopReason.MAX_TOKENS
                break
            if drafted and token == drafted[0][0]:  # the model has run it already
                logits = drafted.pop(0)[1]
                taken += 1
                stats.accepted_draft_tokens += 1
                if drafter is not None:
                    drafter.append(token)
                continue
            if drafted:  # chosen otherwise: the rest of the draft leaves the cache
                cache.truncate(cache.length - len(drafted))
                drafted.clear()
            room = self.context_length - cache.length
            if room <= 1:
                reason = StopReason.CONTEXT_FULL
                break
            draft: list[int] = []
            if drafting:
                if drafter is None:
                    drafter = LookupDrafter([*prompt, *generated[:-1]])
                drafter.append(token)
                drafter.record(last_draft, taken)
                draft = drafter.draft(min(max_new_tokens - len(generated) - 1, room - 2))
                last_draft, taken = len(draft), 0
            if draft:
                rows = self.model.forward_rows(
                    np.array([[token, *draft]], np.int64), cache, 1 + len(draft)
                )
                logits = rows[0]
                drafted.extend(zip(draft, rows[1:], strict=True))
                stats.drafted_tokens += len(draft)
            else:
                self._step_ids[0, 0] = token
                logits = self.model.forward(self._step_ids, cache)
        if drafted:  # run but not chosen: the cache ends where the text does
            cache.truncate(cache.length - len(drafted))
        # ``logits`` follow the cache's end (the last generated token is in the cache only
        # when it was a confirmed draft).
        cache.last_logits = logits
        if reason is not StopReason.STOP_STRING:
            tail = stops.flush()
            if tail:
                pieces.append(tail)
                if on_text is not None:
                    on_text(tail)
        stats.generated_tokens = len(generated)
        if first_token_at:
            stats.decode_seconds = time.perf_counter() - first_token_at
        return GenerationOutput("".join(pieces), generated, reason, stats)


class _AnyEvent:
    """Set when any of the given events is set (for ``is_set`` polling only)."""

    def __init__(self, *events: CancelFlag | None) -> None:
        self._events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self._events)
