"""The writing tasks and the request the editor (or the command line) sends for one of them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from inference.runtime.errors import InvalidRequestError
from inference.runtime.sampling_settings import SamplingSettings

MAX_NEW_TOKENS_LIMIT = 1024
# Above this many characters a request is refused outright (about 2 million words).
MAX_TEXT_CHARS = 10_000_000


class Task(enum.StrEnum):
    CONTINUE = "continue"
    REWRITE = "rewrite"
    SHORTEN = "shorten"
    EXPAND = "expand"
    CHANGE_TONE = "tone"
    SUMMARIZE = "summarize"
    BRAINSTORM = "brainstorm"
    DESCRIBE = "describe"

    @classmethod
    def parse(cls, name: str | Task) -> Task:
        if isinstance(name, Task):
            return name
        key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
        aliases = {"change_tone": "tone", "summarise": "summarize", "continuation": "continue"}
        key = aliases.get(key, key)
        try:
            return cls(key)
        except ValueError:
            known = ", ".join(t.value for t in cls)
            raise InvalidRequestError(f"Unknown task {name!r}; choose one of: {known}.") from None


# Tone name -> how the instruction describes it.
TONES: dict[str, str] = {
    "formal": "formal and professional",
    "casual": "casual and relaxed",
    "friendly": "warm and friendly",
    "confident": "confident and direct",
    "vivid": "vivid and evocative, with concrete imagery",
    "humorous": "light and humorous",
    "neutral": "neutral and plain",
}

# Tokens a task writes when the request does not say.
DEFAULT_MAX_NEW_TOKENS: dict[Task, int] = {
    Task.CONTINUE: 60,
    Task.REWRITE: 300,
    Task.SHORTEN: 200,
    Task.EXPAND: 400,
    Task.CHANGE_TONE: 300,
    Task.SUMMARIZE: 200,
    Task.BRAINSTORM: 250,
    Task.DESCRIBE: 200,
}

CONTINUE_SAMPLING = SamplingSettings(
    temperature=0.7, top_k=50, top_p=0.9, min_p=0.05, repetition_penalty=1.1
)
INSTRUCTION_SAMPLING = SamplingSettings(
    temperature=0.3, top_k=40, top_p=0.9, min_p=0.05, repetition_penalty=1.05
)


# Tasks whose first answer does markedly better with other settings than the instruction
# defaults (benchmarks/writing_quality.py, the default model): a list of ideas repeats itself
# ("It repeats itself" was 33 of its 34 first-answer failures) unless repetition is penalized
# as firmly as the retries do.
TASK_SAMPLING = {
    Task.BRAINSTORM: replace(INSTRUCTION_SAMPLING, repetition_penalty=1.15),
}


def default_sampling(task: Task) -> SamplingSettings:
    """The settings a request for ``task`` uses unless it brings its own (the app's do not)."""
    if task is Task.CONTINUE:
        return CONTINUE_SAMPLING
    return TASK_SAMPLING.get(task, INSTRUCTION_SAMPLING)


@dataclass(frozen=True)
class GenerationRequest:
    """What the writer asked for, with the text around the cursor.

    ``before``/``after``: the document text before and after the cursor (or the selection);
    ``selection``: the selected text the task works on; ``notes``: the document's notes
    (names, setting, style to keep) included in every request; ``length`` for continue:
    ``"sentence"`` or ``"paragraph"``."""

    task: Task | str = Task.CONTINUE
    before: str = ""
    after: str = ""
    selection: str = ""
    notes: str = ""
    tone: str | None = None
    sampling: SamplingSettings | None = None
    max_new_tokens: int | None = None
    length: str = "paragraph"
    extra: dict[str, str] = field(default_factory=dict)

    def validated(self) -> GenerationRequest:
        """A checked copy: task parsed, sizes clamped, nonsense refused with a clear message."""
        task = Task.parse(self.task)
        for name in ("before", "after", "selection", "notes"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise InvalidRequestError(f"The {name} text must be a string.")
            if len(value) > MAX_TEXT_CHARS:
                raise InvalidRequestError(
                    f"The {name} text is too large ({len(value):,} characters); Draftsmith "
                    f"sends at most {MAX_TEXT_CHARS:,} to the model."
                )
        max_new = self.max_new_tokens
        if max_new is None:
            max_new = DEFAULT_MAX_NEW_TOKENS[task]
        if not isinstance(max_new, int) or isinstance(max_new, bool):
            raise InvalidRequestError("The maximum number of tokens must be a whole number.")
        if max_new < 1:
            raise InvalidRequestError(
                f"The maximum number of new tokens must be at least 1 (got {max_new})."
            )
        max_new = min(max_new, MAX_NEW_TOKENS_LIMIT)
        tone = self.tone
        if task is Task.CHANGE_TONE:
            tone = (tone or "").strip().lower()
            if tone not in TONES:
                raise InvalidRequestError(
                    f"Unknown tone {self.tone!r}; choose one of: {', '.join(TONES)}."
                )
        if self.length not in ("sentence", "paragraph"):
            raise InvalidRequestError("The continuation length must be 'sentence' or 'paragraph'.")
        sampling = (self.sampling or default_sampling(task)).validated()
        return replace(self, task=task, max_new_tokens=max_new, tone=tone, sampling=sampling)

    @property
    def parsed_task(self) -> Task:
        return Task.parse(self.task)
