"""Each writing task's prompt, fitted into the model's context window.

``continue`` is a raw continuation of the text before the cursor (the model writes the next
words); at the end of a paragraph the prompt ends with a paragraph break, so the model writes
the next paragraph and the answer starts with that break. The other tasks are patterns to
complete (see ``few_shot.py``): fixed worked examples first (a prefix the prompt cache keeps),
then the writer's notes and text, then the answer label. Both never exceed the context: the
text the task works on is cut (most recent text first, at a natural boundary) to what fits."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace

from inference.runtime.context_window import FittedText, fit_head, fit_tail
from inference.runtime.errors import InvalidRequestError
from inference.runtime.few_shot import Pattern, all_example_texts, pattern_for
from inference.runtime.tasks import GenerationRequest, Task
from inference.runtime.text_codec import TextCodec

log = logging.getLogger(__name__)

CHAT_STOP_STRINGS = ("<|im_end|>", "<|im_start|>", "<|endoftext|>", "<|eot_id|>", "</s>")
SENTENCE_STOPS = (". ", "! ", "? ", ".\n", "!\n", "?\n", "…", '."', ".”")
PARAGRAPH_BREAK = "\n\n"
# How many brainstorm ideas are asked for (the list stops before the next one).
BRAINSTORM_IDEAS = 5
# Answer tokens allowed per token of the source, by task (plus a little room): an answer
# that needs more has already failed its length rule, so writing on only costs time.
_ANSWER_TOKENS_PER_SOURCE_TOKEN: dict[Task, float] = {
    Task.SHORTEN: 0.9,
    Task.SUMMARIZE: 0.7,
    Task.REWRITE: 1.7,
    Task.CHANGE_TONE: 1.7,
    Task.EXPAND: 3.0,
}
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
# Room kept for token merges where the fitted text joins the template.
_MARGIN = 4
_MIN_TEXT_TOKENS = 16
_MIN_NEW_TOKENS = 16
# Notes may take at most this share of the context.
_NOTES_SHARE = 0.25


@dataclass(frozen=True)
class PromptPlan:
    task: Task
    token_ids: list[int]
    max_new_tokens: int
    stop_strings: tuple[str, ...]
    keep_stop_strings: tuple[str, ...] = ()
    penalty_context: list[int] = field(default_factory=list)
    context_cut: bool = False
    source_text: str = ""
    # Text the answer is made to start with (already in the prompt), e.g. "1." for a list.
    answer_prefix: str = ""
    # Prompt text an answer must not copy (the worked examples).
    prompt_texts: tuple[str, ...] = ()
    # How many leading prompt tokens are the same for every request of this task.
    shared_prefix_tokens: int = 0
    # The model may not end its answer before this many tokens.
    min_new_tokens: int = 1
    # The answer is ``answer_prefix`` (the writer's text) and what the model adds after it.
    appends_to_source: bool = False
    # The model's first token may not be whitespace (the prompt already ends where words go).
    no_blank_start: bool = True


@dataclass(frozen=True)
class ModelTextInfo:
    """What prompt building needs to know about the model."""

    context_tokens: int
    chat_template: str | None
    bos_token_id: int | None
    add_bos_token: bool
    bos_token: str = ""
    eos_token: str = ""


def build_prompt(request: GenerationRequest, codec: TextCodec, model: ModelTextInfo) -> PromptPlan:
    """The token ids for ``request`` (already ``validated()``) within the context window."""
    task = request.parsed_task
    max_new = min(request.max_new_tokens or 1, max(1, model.context_tokens // 2))
    notes = _fit_notes(request.notes, codec, int(model.context_tokens * _NOTES_SHARE))
    if task is Task.CONTINUE:
        return _continue_prompt(request, codec, model, notes, max_new)
    return _instruction_prompt(request, task, codec, model, notes, max_new)


def _fit_notes(notes: str, codec: TextCodec, budget: int) -> str:
    notes = notes.strip()
    if not notes:
        return ""
    fitted = fit_head(notes, budget, codec)
    if fitted.cut:
        log.info("document notes cut to %d tokens to fit the context", fitted.tokens)
    return fitted.text


def _bos(model: ModelTextInfo) -> list[int]:
    return [model.bos_token_id] if model.add_bos_token and model.bos_token_id is not None else []


def at_paragraph_end(request: GenerationRequest) -> bool:
    """Whether the cursor ends a paragraph (after a finished sentence, nothing after it on
    the line): there the helpful continuation is the next paragraph."""
    before = request.before.rstrip(" \t")
    if not before.strip() or before.endswith("\n"):
        return False
    after_line = request.after.split("\n", 1)[0]
    return not after_line.strip() and bool(_SENTENCE_END.search(before))


def _continue_prompt(
    request: GenerationRequest,
    codec: TextCodec,
    model: ModelTextInfo,
    notes: str,
    max_new: int,
) -> PromptPlan:
    before = request.before.rstrip(" \t")
    if not before.strip():
        raise InvalidRequestError("There is no text before the cursor to continue.")
    new_paragraph = at_paragraph_end(request)
    preamble = f"[Notes: {notes}]\n\n" if notes else ""
    prefix_ids = _bos(model) + (codec.encode(preamble) if preamble else [])
    max_new, budget, text_budget = _make_room(model, len(prefix_ids) + 2, max_new, notes)
    fitted = fit_tail(before, text_budget, codec)
    prompt_text = fitted.text + (PARAGRAPH_BREAK if new_paragraph else "")
    ids = prefix_ids + codec.encode_before_words(prompt_text, continues=bool(preamble))
    ids = _enforce(ids, budget)
    if request.length == "sentence":
        stops: tuple[str, ...] = ("\n", *SENTENCE_STOPS, *CHAT_STOP_STRINGS)
        keep: tuple[str, ...] = SENTENCE_STOPS
    else:
        # One paragraph: the editor writes each on a line of its own, so a line break after
        # text ends it (a leading break, the model starting the next paragraph, does not).
        stops, keep = ("\n", *CHAT_STOP_STRINGS), ()
    # Penalise repeating the recent document text and what is generated, not the notes.
    penalty_context = ids[len(prefix_ids) :]
    return PromptPlan(
        Task.CONTINUE,
        ids,
        max_new,
        stops,
        keep,
        penalty_context,
        fitted.cut,
        fitted.text,
        PARAGRAPH_BREAK if new_paragraph else "",
        no_blank_start=new_paragraph or before.endswith("\n"),
    )


def expand_by_continuation(
    request: GenerationRequest, codec: TextCodec, model: ModelTextInfo
) -> PromptPlan:
    """Expand as the writer's own text followed by the model's next sentences in the same
    paragraph: the way a small model reliably adds detail (used when the worked-example
    pattern gave too little). The answer starts with the whole text."""
    target, _ = _target_text(request, Task.EXPAND)
    notes = _fit_notes(request.notes, codec, int(model.context_tokens * _NOTES_SHARE))
    text = target.rstrip()
    tokens = codec.count(text)
    max_new = min(request.max_new_tokens or 1, max(_MIN_NEW_TOKENS, tokens + 24))
    preamble = f"[Notes: {notes}]\n\n" if notes else ""
    prefix_ids = _bos(model) + (codec.encode(preamble) if preamble else [])
    max_new, budget, _ = _make_room(model, len(prefix_ids), max_new, notes, tokens)
    ids = _enforce(prefix_ids + codec.encode(text, continues=bool(preamble)), budget)
    return PromptPlan(
        Task.EXPAND,
        ids,
        max_new,
        ("\n", *CHAT_STOP_STRINGS),
        (),
        ids[len(prefix_ids) :],
        False,
        target,
        text,
        prompt_texts=all_example_texts(),
        min_new_tokens=min(max_new, max(8, int(tokens * 0.35))),
        appends_to_source=True,
    )


def _target_text(request: GenerationRequest, task: Task) -> tuple[str, bool]:
    """The text an instruction task works on, and whether a tail of it may be used."""
    selection = request.selection.strip()
    if selection:
        return selection, task in (Task.SUMMARIZE, Task.BRAINSTORM)
    if task is Task.SUMMARIZE:
        return (request.before + request.after).strip(), True
    if task is Task.BRAINSTORM:
        return request.before.strip(), True
    # Rewrite & co. without a selection: the paragraph the cursor is in.
    paragraph = request.before.rstrip().rsplit("\n\n", 1)[-1].strip()
    return paragraph, False


def _one_line(text: str) -> str:
    """The pattern is one line per entry: paragraphs are joined with spaces."""
    return " ".join(text.split())


def pattern_prefix(pattern: Pattern) -> str:
    """The worked examples: the same for every request of a task (and cached as such)."""
    blocks = [
        f"{pattern.source_label}: {_one_line(source)}\n{pattern.answer_label}: "
        + (answer if "\n" in answer else _one_line(answer))
        for source, answer in pattern.examples
    ]
    return "\n\n".join(blocks) + "\n\n"


def _query(pattern: Pattern, notes: str, text: str, prefix: str) -> str:
    notes_line = f"Notes: {_one_line(notes)}\n" if notes else ""
    answer_start = f"\n{prefix}" if prefix else ""
    return (
        f"{notes_line}{pattern.source_label}: {_one_line(text)}\n"
        f"{pattern.answer_label}:{answer_start}"
    )


def _instruction_prompt(
    request: GenerationRequest,
    task: Task,
    codec: TextCodec,
    model: ModelTextInfo,
    notes: str,
    max_new: int,
) -> PromptPlan:
    target, may_cut = _target_text(request, task)
    if not target:
        what = "a subject" if task is Task.DESCRIBE else "some text"
        raise InvalidRequestError(f"Select {what} to {task.value}, or place the cursor after it.")
    prefix = "1." if task is Task.BRAINSTORM else ""
    tokens = codec.count(target[: model.context_tokens * 32])
    ratio = _ANSWER_TOKENS_PER_SOURCE_TOKEN.get(task)
    if ratio is not None:
        max_new = min(max_new, max(_MIN_NEW_TOKENS, int(tokens * ratio) + 12))
    # Rewrite & co. need the whole text: give it room by allowing a shorter answer.
    wanted = _MIN_TEXT_TOKENS if may_cut else max(_MIN_TEXT_TOKENS, tokens)
    # As many worked examples as leave room for the text and the answer (a small context
    # gets fewer, down to the bare labels).
    full = pattern_for(task, request.tone)
    for count in range(len(full.examples), -1, -1):
        pattern = replace(full, examples=full.examples[:count])
        shared_ids = _bos(model) + codec.encode(pattern_prefix(pattern)) if count else _bos(model)
        query = codec.encode(_query(pattern, notes, "", prefix), continues=bool(count))
        overhead = len(shared_ids) + len(query)
        room = model.context_tokens - overhead - _MARGIN - min(max_new, 4 * _MIN_NEW_TOKENS)
        if room >= wanted:
            break
    max_new, budget, text_budget = _make_room(model, overhead, max_new, notes, wanted)
    fitted: FittedText
    if may_cut:
        fitted = fit_tail(target, text_budget, codec)
    else:
        if tokens > text_budget:
            words = max(1, int(text_budget * len(target.split()) / max(tokens, 1)))
            raise InvalidRequestError(
                f"The selected text is too long to {task.value} in one go (about "
                f"{len(target.split()):,} words; the model can take about {words:,} here). "
                "Select a shorter passage."
            )
        fitted = FittedText(target, tokens, False)
    ids = shared_ids + codec.encode(
        _query(pattern, notes, fitted.text, prefix), continues=bool(count)
    )
    ids = _enforce(ids, budget)
    stops: tuple[str, ...] = ("\n", *CHAT_STOP_STRINGS)
    if task is Task.BRAINSTORM:
        stops = ("\n\n", f"\n{BRAINSTORM_IDEAS + 1}.", *CHAT_STOP_STRINGS)
    return PromptPlan(
        task,
        ids,
        max_new,
        stops,
        (),
        [],
        fitted.cut,
        fitted.text,
        prefix,
        prompt_texts=all_example_texts(),
        shared_prefix_tokens=len(shared_ids) if ids[: len(shared_ids)] == shared_ids else 0,
    )


def _make_room(
    model: ModelTextInfo, overhead: int, max_new: int, notes: str, wanted: int = _MIN_TEXT_TOKENS
) -> tuple[int, int, int]:
    """(max new tokens, prompt budget, text budget): shorten the answer before the text."""
    text_budget = model.context_tokens - max_new - overhead - _MARGIN
    if text_budget < wanted:
        max_new = max(_MIN_NEW_TOKENS, max_new - (wanted - text_budget))
        text_budget = model.context_tokens - max_new - overhead - _MARGIN
    if text_budget < _MIN_TEXT_TOKENS:
        if notes:
            raise InvalidRequestError(
                "The document notes leave no room for the text in the model's context; "
                "shorten the notes."
            )
        raise InvalidRequestError(
            f"The model's context ({model.context_tokens} tokens) is too small for this task."
        )
    return max_new, model.context_tokens - max_new, text_budget


def _enforce(ids: list[int], budget: int) -> list[int]:
    """The last line of defence: never send more than the budget."""
    if len(ids) <= budget:
        return ids
    log.warning("prompt of %d tokens cut to its last %d", len(ids), budget)
    return ids[-budget:]
