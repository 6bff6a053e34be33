"""The runtime's front door: a loaded model that runs writing tasks.

``LocalModel.load()`` opens a model folder (checking its files), chooses the device and
creates the session; ``run(request, on_text=..., cancel=...)`` streams a task's answer;
``warm(request)`` prefills the request's context ahead of time; ``device_report`` and
``last_stats`` tell the editor what runs where and how fast."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from inference.model_cache import installed_app, model_remedy
from inference.model_folder import ModelFolder, ModelFolderError, find_default_model
from inference.runtime.answer_check import (
    METHOD_EXTRACTIVE,
    AnswerCheck,
    check_answer,
    word_count,
)
from inference.runtime.device_report import DeviceReport
from inference.runtime.errors import ModelUnavailableError
from inference.runtime.extractive import extract
from inference.runtime.generation import CancelFlag, Generator, TextCallback
from inference.runtime.measured_quality import expand_pattern_first_pass, weak_tasks_for
from inference.runtime.model_session import ModelSession
from inference.runtime.output_cleaning import (
    AnswerStream,
    ContinuationSpacing,
    clean_answer,
    clean_continuation,
    drop_unfinished_sentence,
)
from inference.runtime.prompts import (
    PARAGRAPH_BREAK,
    ModelTextInfo,
    PromptPlan,
    build_prompt,
    expand_by_continuation,
)
from inference.runtime.results import GenerationStats, TaskResult
from inference.runtime.runtime_settings import RuntimeSettings
from inference.runtime.sampling_settings import SamplingSettings
from inference.runtime.stop_reason import StopReason
from inference.runtime.tasks import GenerationRequest, Task
from inference.runtime.text_codec import TextCodec

log = logging.getLogger(__name__)

# An answer that fails its check is written again at most this many times.
MAX_RETRIES = 2
# Shorten turns to the writer's own sentences after one retry: a third try passed for 2-4 of
# 42 passages, and the other ~30 waited for it (mean 1.74 -> 1.43 s a request). Summarize
# keeps both: its third try passed for 6 of 42, and time did not change measurably.
TASK_RETRIES: dict[Task, int] = {Task.SHORTEN: 1}
# Share of the source's words an extractive shorten/summarize keeps (under the check's
# limits of 75 % and 50 %).
EXTRACTIVE_RATIO: dict[Task, float] = {Task.SHORTEN: 0.6, Task.SUMMARIZE: 0.4}


def retry_sampling(base: SamplingSettings, attempt: int) -> SamplingSettings:
    """Settings for attempt ``attempt`` (0 = the request's own): another seed, a little
    warmer the first time and cooler the second, and a firmer repetition penalty."""
    if attempt == 0:
        return base
    temperature = base.temperature + 0.2 if attempt == 1 else max(0.1, base.temperature - 0.15)
    return replace(
        base,
        temperature=min(temperature, 1.0),
        repetition_penalty=max(base.repetition_penalty, 1.15),
        seed=(base.seed or 0) + 7919 * attempt,  # a repeated request repeats its retries
    )


class _JoinWithSpace:
    """Streams text that follows the writer's own, starting with exactly one space."""

    def __init__(self, on_text: TextCallback) -> None:
        self._on_text = on_text
        self._started = False

    def feed(self, piece: str) -> None:
        if not self._started:
            piece = piece.lstrip()
            if not piece:
                return
            piece = " " + piece
            self._started = True
        self._on_text(piece.replace("\n", " "))


# The first-answer pass rate below which Expand starts with the model's own next sentences.
EXPAND_PATTERN_USEFUL_FROM = 0.1


class LocalModel:
    def __init__(
        self,
        folder: ModelFolder,
        session: ModelSession,
        codec: TextCodec,
        settings: RuntimeSettings,
    ) -> None:
        self.folder = folder
        self.session = session
        self.codec = codec
        self.settings = settings
        self.generator = Generator(
            session,
            codec.stream_decoder,
            prefill_chunk=settings.prefill_chunk,
            lookup_drafts=settings.lookup_drafts,
        )
        special = folder.special_tokens
        stop_ids = {int(t) for t in special.get("stop_token_ids") or []}
        if special.get("eos_token_id") is not None:
            stop_ids.add(int(special["eos_token_id"]))
        self.stop_token_ids = sorted(stop_ids)
        bos_id = special.get("bos_token_id")
        eos_id = special.get("eos_token_id")
        self.text_info = ModelTextInfo(
            context_tokens=max(32, min(settings.context_tokens, folder.context_length)),
            chat_template=folder.chat_template,
            bos_token_id=bos_id,
            add_bos_token=bool(special.get("add_bos_token", False)),
            bos_token=(codec.token_text(bos_id) or "") if bos_id is not None else "",
            eos_token=(codec.token_text(eos_id) or "") if eos_id is not None else "",
        )
        self._special_texts = tuple(codec.special_token_texts())
        self.last_stats: GenerationStats | None = None
        # Expand's worked-example prompt, where it was measured (almost) never to pass first
        # for this model, is skipped: the writer would watch an answer be thrown away and
        # written again by the continuation every time.
        expand_first = expand_pattern_first_pass(folder.manifest)
        self.expand_continues_first = (
            expand_first is not None and expand_first < EXPAND_PATTERN_USEFUL_FROM
        )

    # -- loading ---------------------------------------------------------------------

    @classmethod
    def load(
        cls, path: str | Path | None = None, settings: RuntimeSettings | None = None
    ) -> LocalModel:
        """Open the model folder at ``path`` (default: the built default model) and load it."""
        settings = settings or RuntimeSettings()
        try:
            folder = ModelFolder.open(path) if path is not None else find_default_model()
        except ModelFolderError as error:
            raise ModelUnavailableError(str(error)) from error
        if folder is None:
            if installed_app():
                raise ModelUnavailableError(
                    f"The AI model that comes with Draftsmith is missing. {model_remedy()}"
                )
            raise ModelUnavailableError(
                "No model has been built yet. Build it with `draftsmith-model build` "
                "(or Settings > AI > Build model)."
            )
        # The tokenizer first: its parse's garbage is freed before the session's weights
        # arrive (a lower peak) and goes back to the system with the session's own.
        codec = TextCodec.from_file(folder.tokenizer_path)
        session = ModelSession.load(
            folder,
            settings.session_settings(),
            settings.variant,
            verify=settings.verify_files,
            kv_capacity=max(32, min(settings.context_tokens, folder.context_length)),
            shared_kv=settings.shared_kv,
        )
        return cls(folder, session, codec, settings)

    @classmethod
    def load_in_background(
        cls,
        on_done: Callable[[LocalModel | None, Exception | None], None],
        path: str | Path | None = None,
        settings: RuntimeSettings | None = None,
    ) -> threading.Thread:
        """Load on a daemon thread; ``on_done(model, None)`` or ``on_done(None, error)``."""

        def work() -> None:
            try:
                model = cls.load(path, settings)
            except Exception as error:  # reported to the caller, who shows it
                on_done(None, error)
                return
            on_done(model, None)

        thread = threading.Thread(target=work, name="draftsmith-model-load", daemon=True)
        thread.start()
        return thread

    # -- information -----------------------------------------------------------------

    @property
    def device_report(self) -> DeviceReport:
        return self.session.report

    @property
    def tokens_per_second(self) -> float:
        """Decode speed of the last generation (0 before the first)."""
        return self.last_stats.decode_tokens_per_second if self.last_stats else 0.0

    @property
    def context_tokens(self) -> int:
        return self.text_info.context_tokens

    def weak_tasks(self) -> dict[Task, str]:
        """Tasks this model does poorly by measurement, each with a note for the AI menu
        (e.g. "works better with a larger model"); empty when nothing has been measured."""
        return weak_tasks_for(self.folder.manifest)

    # -- work ------------------------------------------------------------------------

    def plan(self, request: GenerationRequest) -> PromptPlan:
        """The prompt ``request``'s first attempt uses (validated and fitted into the context)."""
        request = request.validated()
        if request.task is Task.EXPAND and self.expand_continues_first:
            return expand_by_continuation(request, self.codec, self.text_info)
        return build_prompt(request, self.codec, self.text_info)

    def run(
        self,
        request: GenerationRequest,
        *,
        on_text: TextCallback | None = None,
        cancel: CancelFlag | None = None,
        on_restart: Callable[[str], None] | None = None,
    ) -> TaskResult:
        """Run one writing task; ``on_text`` receives the answer as it streams.

        Every answer is checked (``result.check``). One that fails is written again, with
        another seed and settings, at most ``MAX_RETRIES`` times (or the task's own
        ``TASK_RETRIES``): ``on_restart(reason)`` is
        called first and the caller discards what it streamed so far (``reason`` says why,
        plainly). A caller streaming without ``on_restart`` gets the first answer, checked.
        When every attempt fails, shorten and summarize fall back to sentences
        picked from the writer's own text (``check.method == "extractive"``); other tasks
        return the closest attempt with ``check.passed`` False and the reasons."""
        request = request.validated()
        plan = self.plan(request)
        assert request.sampling is not None
        attempts: list[TaskResult] = []
        # A caller that streams but cannot discard what it showed gets one attempt, checked.
        retries = TASK_RETRIES.get(plan.task, MAX_RETRIES)
        tries = 1 + retries if on_text is None or on_restart is not None else 1
        for attempt in range(tries):
            if attempt:
                failed = attempts[-1].check
                if on_restart is not None:
                    on_restart(f"{failed.reasons[0]} Writing it again…")
            sampling = retry_sampling(request.sampling, attempt)
            if attempt and plan.task is Task.EXPAND:
                # The pattern gave too little: add the model's own next sentences instead.
                plan = expand_by_continuation(request, self.codec, self.text_info)
            result = self._attempt(plan, request, sampling, on_text, cancel)
            attempts.append(result)
            if result.cancelled or result.check.passed:
                return replace(result, check=replace(result.check, attempts=len(attempts)))
        best = min(attempts, key=lambda r: len(r.check.reasons))
        can_replace = on_text is None or on_restart is not None
        cancelled = cancel is not None and cancel.is_set()
        if plan.task in EXTRACTIVE_RATIO and can_replace and not cancelled:
            return self._extractive(plan, best, len(attempts), on_text, on_restart, cancel)
        if best is not attempts[-1]:
            if on_restart is not None:
                on_restart("Showing the closest of the answers written.")
            if on_text is not None and best.text:
                on_text(best.text)
        return replace(best, check=replace(best.check, attempts=len(attempts)))

    def _attempt(
        self,
        plan: PromptPlan,
        request: GenerationRequest,
        sampling: SamplingSettings,
        on_text: TextCallback | None,
        cancel: CancelFlag | None,
    ) -> TaskResult:
        """One generation of ``plan``, streamed, cleaned and checked."""
        task = plan.task
        callback = on_text
        if task is Task.CONTINUE:
            # After a paragraph break of ours, the model's own leading blank lines are dropped.
            spacing = ContinuationSpacing(request.before.rstrip(" \t") + plan.answer_prefix)
            if on_text is not None:

                def callback(piece: str) -> None:
                    fixed = spacing.feed(piece)
                    if fixed:
                        on_text(fixed)

        else:
            answer = AnswerStream()
            if on_text is not None:

                def callback(piece: str) -> None:
                    fixed = answer.feed(piece)
                    if fixed:
                        on_text(fixed)

        if plan.appends_to_source and on_text is not None:
            # The writer's text, then the model's sentences joined to it by one space.
            join = _JoinWithSpace(on_text)
            on_text(plan.answer_prefix)
            callback = join.feed
        elif on_text is not None and callback is not None and plan.answer_prefix:
            # A paragraph break is shown as it is; a list's "1." goes through the stream.
            (on_text if task is Task.CONTINUE else callback)(plan.answer_prefix)
        output = self.generator.generate(
            plan.token_ids,
            max_new_tokens=plan.max_new_tokens,
            sampling=sampling,
            stop_token_ids=self.stop_token_ids,
            stop_strings=plan.stop_strings,
            keep_stop_strings=plan.keep_stop_strings,
            on_text=callback,
            cancel=cancel,
            penalty_context=plan.penalty_context,
            stop_after_text=task is Task.CONTINUE or bool(plan.min_new_tokens > 1),
            min_new_tokens=plan.min_new_tokens,
            # Answers start with words: a leading blank line would end most of them.
            first_token_bans=self.codec.whitespace_token_ids() if plan.no_blank_start else (),
            shared_prefix=plan.shared_prefix_tokens,
        )
        self.last_stats = output.stats
        raw = plan.answer_prefix + output.text
        if plan.appends_to_source:
            raw = plan.answer_prefix + " " + " ".join(output.text.split())
        if task is Task.CONTINUE:
            spacing = ContinuationSpacing(request.before.rstrip(" \t") + plan.answer_prefix)
            text = plan.answer_prefix + spacing.feed(output.text)
            text = clean_continuation(
                text,
                request.length,
                self._special_texts,
                cut_off=output.stop_reason is StopReason.MAX_TOKENS,
            )
            if text.startswith("\n"):  # one paragraph break, however many the model wrote
                text = PARAGRAPH_BREAK + text.lstrip()
        else:
            if on_text is not None:
                tail = answer.flush()
                if tail:
                    on_text(tail)
            text = clean_answer(task, raw, plan.source_text, self._special_texts)
            if output.stop_reason is StopReason.MAX_TOKENS and task is not Task.BRAINSTORM:
                text = drop_unfinished_sentence(text)
        log.debug(
            "%s: %d tokens, stop=%s", task.value, output.stats.generated_tokens, output.stop_reason
        )
        check = check_answer(
            task,
            text,
            source=plan.source_text,
            notes=request.notes,
            prompt_texts=plan.prompt_texts,
        )
        return TaskResult(
            task, text, raw, output.stop_reason, output.stats, plan.context_cut, check
        )

    def _extractive(
        self,
        plan: PromptPlan,
        best: TaskResult,
        attempts: int,
        on_text: TextCallback | None,
        on_restart: Callable[[str], None] | None,
        cancel: CancelFlag | None,
    ) -> TaskResult:
        """Shorten/summarize with the writer's own most informative sentences."""
        source = plan.source_text
        limit = int(word_count(source) * EXTRACTIVE_RATIO[plan.task])

        def scorer(units: Sequence[str]) -> list[float]:
            return self.sentence_scores(units, cancel)

        text = extract(source, limit, scorer)
        if on_restart is not None:
            on_restart(f"{best.check.reasons[0]} Using sentences from your text instead.")
        if on_text is not None and text:
            on_text(text)
        check = AnswerCheck(True, (), METHOD_EXTRACTIVE, attempts)
        return replace(best, text=text, stop_reason=StopReason.EXTRACTIVE, check=check)

    def sentence_scores(
        self, units: Sequence[str], cancel: CancelFlag | None = None
    ) -> list[float]:
        """Each text's mean surprisal (nats per token) to the model, read in order as one
        passage: how much new information it carries."""
        ids: list[int] = []
        spans: list[tuple[int, int]] = []
        for index, unit in enumerate(units):
            text = (" " if index else "") + unit.strip()
            unit_ids = self.codec.encode(text, continues=bool(index))
            spans.append((len(ids), len(ids) + len(unit_ids)))
            ids.extend(unit_ids)
        limit = self.generator.context_length - 1
        surprisals = self.generator.token_surprisals(ids[:limit], cancel) if ids else []
        scores = []
        for start, end in spans:
            values = surprisals[max(start, 1) : end]
            scores.append(sum(values) / len(values) if values else 0.0)
        return scores

    def warm(self, request: GenerationRequest, cancel: CancelFlag | None = None) -> int:
        """Prefill the prompt ``request`` would use; returns how many tokens are cached."""
        plan = self.plan(request)
        return self.generator.warm(plan.token_ids, cancel)

    def warm_in_background(
        self, request: GenerationRequest, cancel: CancelFlag | None = None
    ) -> threading.Thread:
        plan = self.plan(request)
        return self.generator.warm_in_background(plan.token_ids, cancel)
