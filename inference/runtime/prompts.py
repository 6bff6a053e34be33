"""Each writing task's prompt, fitted into the model's context window.

``continue`` is a raw continuation of the text before the cursor (the model writes the next
words). The other tasks are instructions rendered with the model's own chat template. Both
keep the writer's document notes and never exceed the context: the text the task works on
is cut (most recent text first, at a paragraph or sentence boundary) to what fits."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from inference.runtime.chat_template import render_chat
from inference.runtime.context_window import FittedText, fit_head, fit_tail
from inference.runtime.errors import InvalidRequestError
from inference.runtime.tasks import TONES, GenerationRequest, Task
from inference.runtime.text_codec import TextCodec

log = logging.getLogger(__name__)

# Short on purpose: every token here is computed for every request.
SYSTEM_PROMPT = "You are a writing assistant. Reply with the requested text only."

# Each instruction follows the text it is about: small models heed the last thing they read.
INSTRUCTIONS: dict[Task, str] = {
    Task.REWRITE: "Rewrite this text so it reads clearly and smoothly. Keep its meaning, voice, "
    "point of view and tense.",
    Task.SHORTEN: "Shorten this text to about half its length. Keep the key points and the "
    "writer's voice.",
    Task.EXPAND: "Expand this text with more detail and description. Keep its style, point of "
    "view and tense.",
    Task.CHANGE_TONE: "Rewrite this text in a {tone} tone. Keep its meaning.",
    Task.SUMMARIZE: "Summarize this text in a few sentences.",
    Task.BRAINSTORM: "Brainstorm five new ideas for what could happen next in this piece of "
    "writing. One short line per idea, as a numbered list.",
    Task.DESCRIBE: "Describe this in a short paragraph rich in sensory detail (sight, sound, "
    "smell, touch, taste).",
}

# Starting the answer for the model keeps a small one on format (a list, not a copy).
ANSWER_PREFIXES: dict[Task, str] = {Task.BRAINSTORM: "1."}

CHAT_STOP_STRINGS = ("<|im_end|>", "<|im_start|>", "<|endoftext|>", "<|eot_id|>", "</s>")
SENTENCE_STOPS = (". ", "! ", "? ", ".\n", "!\n", "?\n", "…", '."', ".”")
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
    preamble = f"[Notes: {notes}]\n\n" if notes else ""
    prefix_ids = _bos(model) + (codec.encode(preamble) if preamble else [])
    max_new, budget, text_budget = _make_room(model, len(prefix_ids), max_new, notes)
    fitted = fit_tail(before, text_budget, codec)
    ids = prefix_ids + codec.encode(fitted.text)
    ids = _enforce(ids, budget)
    if request.length == "sentence":
        stops: tuple[str, ...] = ("\n", *SENTENCE_STOPS, *CHAT_STOP_STRINGS)
        keep: tuple[str, ...] = SENTENCE_STOPS
    else:
        stops, keep = ("\n\n", *CHAT_STOP_STRINGS), ()
    # Penalise repeating the recent document text and what is generated, not the notes.
    penalty_context = ids[len(prefix_ids) :]
    return PromptPlan(
        Task.CONTINUE, ids, max_new, stops, keep, penalty_context, fitted.cut, fitted.text
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


def _messages(
    request: GenerationRequest, task: Task, notes: str, text: str
) -> list[dict[str, str]]:
    system = SYSTEM_PROMPT
    if notes:
        system += f"\n\nThe writer's notes about this document (respect them):\n{notes}"
    instruction = INSTRUCTIONS[task].format(tone=TONES.get(request.tone or "", "different"))
    label = "Subject" if task is Task.DESCRIBE else "Text"
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": f"{label}:\n{text}\n\n{instruction}"},
    ]


def _render(model: ModelTextInfo, messages: list[dict[str, str]]) -> str:
    return render_chat(
        model.chat_template,
        messages,
        add_generation_prompt=True,
        bos_token=model.bos_token,
        eos_token=model.eos_token,
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
    empty = _render(model, _messages(request, task, notes, ""))
    overhead = len(_bos(model)) + len(codec.encode(empty))
    tokens = codec.count(target[: model.context_tokens * 32])
    # Rewrite & co. need the whole text: give it room by allowing a shorter answer.
    wanted = _MIN_TEXT_TOKENS if may_cut else max(_MIN_TEXT_TOKENS, tokens)
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
    prefix = ANSWER_PREFIXES.get(task, "")
    prompt_text = _render(model, _messages(request, task, notes, fitted.text)) + prefix
    ids = _enforce(_bos(model) + codec.encode(prompt_text), budget)
    return PromptPlan(
        task, ids, max_new, CHAT_STOP_STRINGS, (), [], fitted.cut, fitted.text, prefix
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
