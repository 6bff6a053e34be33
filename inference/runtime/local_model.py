"""The runtime's front door: a loaded model that runs writing tasks.

``LocalModel.load()`` opens a model folder (checking its files), chooses the device and
creates the session; ``run(request, on_text=..., cancel=...)`` streams a task's answer;
``warm(request)`` prefills the request's context ahead of time; ``device_report`` and
``last_stats`` tell the editor what runs where and how fast."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from inference.model_cache import installed_app, model_remedy
from inference.model_folder import ModelFolder, ModelFolderError, find_default_model
from inference.runtime.answer_check import AnswerCheck
from inference.runtime.device_report import DeviceReport
from inference.runtime.errors import ModelUnavailableError
from inference.runtime.generation import (
    DEFAULT_PREFILL_CHUNK,
    CancelFlag,
    GenerationStats,
    Generator,
    TextCallback,
)
from inference.runtime.model_session import ModelSession
from inference.runtime.output_cleaning import (
    AnswerStream,
    ContinuationSpacing,
    clean_answer,
    clean_continuation,
)
from inference.runtime.prompts import ModelTextInfo, PromptPlan, build_prompt
from inference.runtime.providers import SessionSettings
from inference.runtime.tasks import GenerationRequest, Task
from inference.runtime.text_codec import TextCodec

log = logging.getLogger(__name__)

# The context used unless the settings say otherwise: enough for ~1500 words before the
# cursor, and quick to prefill on a laptop CPU. The model may allow more.
DEFAULT_CONTEXT_TOKENS = 2048


@dataclass(frozen=True)
class RuntimeSettings:
    device: str = "auto"
    threads: int | None = None
    variant: str | None = None
    context_tokens: int = DEFAULT_CONTEXT_TOKENS
    prefill_chunk: int = DEFAULT_PREFILL_CHUNK
    allow_spinning: bool = True
    verify_files: bool = True
    # None: preallocated in-place KV buffers when the graph supports them (checked at load).
    shared_kv: bool | None = None

    def session_settings(self) -> SessionSettings:
        return SessionSettings(
            device=self.device, threads=self.threads, allow_spinning=self.allow_spinning
        )


@dataclass(frozen=True)
class TaskResult:
    task: Task
    text: str
    raw_text: str
    stop_reason: str
    stats: GenerationStats
    context_cut: bool
    # Whether the answer passed its task's rules (see answer_check.py); the editor shows a
    # failing answer marked with the reasons and asks before it reaches the document.
    check: AnswerCheck = field(default_factory=AnswerCheck)

    @property
    def cancelled(self) -> bool:
        return self.stop_reason == "cancelled"


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
            session, codec.stream_decoder, prefill_chunk=settings.prefill_chunk
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
        session = ModelSession.load(
            folder,
            settings.session_settings(),
            settings.variant,
            verify=settings.verify_files,
            kv_capacity=max(32, min(settings.context_tokens, folder.context_length)),
            shared_kv=settings.shared_kv,
        )
        codec = TextCodec.from_file(folder.tokenizer_path)
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
        return {}

    # -- work ------------------------------------------------------------------------

    def plan(self, request: GenerationRequest) -> PromptPlan:
        """The prompt ``request`` would use (validated and fitted into the context)."""
        return build_prompt(request.validated(), self.codec, self.text_info)

    def run(
        self,
        request: GenerationRequest,
        *,
        on_text: TextCallback | None = None,
        cancel: CancelFlag | None = None,
        on_restart: Callable[[str], None] | None = None,
    ) -> TaskResult:
        """Run one writing task; ``on_text`` receives the answer as it streams.

        ``on_restart(reason)`` is called when an answer failed its check and is being written
        again: the caller discards what it streamed so far (``reason`` says why, plainly)."""
        request = request.validated()
        plan = build_prompt(request, self.codec, self.text_info)
        task = plan.task
        callback = on_text
        if task is Task.CONTINUE:
            spacing = ContinuationSpacing(request.before)
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

                if plan.answer_prefix:
                    callback(plan.answer_prefix)
        assert request.sampling is not None
        output = self.generator.generate(
            plan.token_ids,
            max_new_tokens=plan.max_new_tokens,
            sampling=request.sampling,
            stop_token_ids=self.stop_token_ids,
            stop_strings=plan.stop_strings,
            keep_stop_strings=plan.keep_stop_strings,
            on_text=callback,
            cancel=cancel,
            penalty_context=plan.penalty_context,
        )
        self.last_stats = output.stats
        raw = output.text
        if task is Task.CONTINUE:
            spacing = ContinuationSpacing(request.before)
            text = clean_continuation(spacing.feed(raw), request.length, self._special_texts)
        else:
            if on_text is not None:
                tail = answer.flush()
                if tail:
                    on_text(tail)
            raw = plan.answer_prefix + raw
            text = clean_answer(task, raw, plan.source_text, self._special_texts)
        log.debug(
            "%s: %d tokens, stop=%s", task.value, output.stats.generated_tokens, output.stop_reason
        )
        return TaskResult(task, text, raw, output.stop_reason, output.stats, plan.context_cut)

    def warm(self, request: GenerationRequest, cancel: CancelFlag | None = None) -> int:
        """Prefill the prompt ``request`` would use; returns how many tokens are cached."""
        plan = self.plan(request)
        return self.generator.warm(plan.token_ids, cancel)

    def warm_in_background(
        self, request: GenerationRequest, cancel: CancelFlag | None = None
    ) -> threading.Thread:
        plan = self.plan(request)
        return self.generator.warm_in_background(plan.token_ids, cancel)
