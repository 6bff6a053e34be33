"""Turning what the model wrote into text fit for the document.

Chat markers never reach the writer; a continuation starts with exactly the spacing the
text before the cursor needs; an instruction answer loses chatty preambles and wrapping
quotes; brainstorm ideas become a Markdown list."""

from __future__ import annotations

import re

from inference.runtime.answer_check import list_items, restated_ideas
from inference.runtime.tasks import Task

# ChatML-style markers and the classic ones, in case the model writes them out as text.
_MARKER = re.compile(r"<\|[^|<>\n]{1,40}\|>|</?s>|\[/?INST\]|<</?SYS>>")
_ROLE_LINE = re.compile(r"^\s*(assistant|user|system)\s*:?\s*\n", re.IGNORECASE)
_PREAMBLE = re.compile(
    r"^\s*(?:(?:sure|certainly|okay|ok|of course|absolutely)[!,.]?\s*)?"
    r"(?:here(?:'s| is| are)\b[^\n]{0,120}|[\w ,'-]{0,60}\b(?:text|version|summary|ideas|"
    r"description|rewrite|paragraph))\s*:\s*\n+",
    re.IGNORECASE,
)
# A first paragraph ending in a colon ("The original text is ... Here's a longer version:").
_INTRO_PARAGRAPH = re.compile(r"^\s*[^\n]{0,240}:[ \t]*\n[ \t]*\n")
# How chatty introductions start; a streamed answer is held back only while it might be one.
_INTRO_START = re.compile(
    r"^\s*(?:sure|certainly|okay|ok|of course|absolutely|here|rewritten|revised|shortened|"
    r"expanded|summary|ideas|description|assistant|the (?:original|rewritten|revised|"
    r"shortened|expanded|summary|text|following|passage))\b",
    re.IGNORECASE,
)
_NO_SPACE_BEFORE = re.compile(r"^[\s,.;:!?)\]}’”'\"…]")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s|$)")
_WORD_END = re.compile(r"[.!?,;:)\]”’\"…]$")


def strip_markers(text: str, special_tokens: list[str] | tuple[str, ...] = ()) -> str:
    for token in special_tokens:
        if token:
            text = text.replace(token, "")
    return _MARKER.sub("", text)


class ContinuationSpacing:
    """Fixes the first characters of a streamed continuation so it joins the text before it.

    The prompt is sent without the writer's trailing spaces (a lone space token derails the
    model), so the model usually starts with a space of its own: keep it when the writer had
    none, drop it when they had typed one, add one after punctuation when it is missing."""

    def __init__(self, before: str) -> None:
        stripped = before.rstrip(" \t")
        self._had_space = len(stripped) < len(before)
        self._at_line_start = not stripped or stripped.endswith("\n")
        self._after_punctuation = bool(_WORD_END.search(stripped))
        self._after_comma = stripped.endswith((",", ";", ":"))
        self._started = False

    def feed(self, piece: str) -> str:
        if self._started or not piece:
            return piece
        if self._at_line_start:
            piece = piece.lstrip(" \t\n")
            if not piece:
                return ""
        elif self._had_space:
            piece = piece.lstrip(" \t")
            if not piece:
                return ""
        elif self._after_punctuation and (
            not _NO_SPACE_BEFORE.match(piece) or (self._after_comma and piece[0] in "\"“'‘")
        ):
            piece = " " + piece
        self._started = True
        return piece


# A continuation cut off by its token limit ends at its last full sentence when what is left
# is still worth accepting; shorter than this, the unfinished clause is kept instead.
MIN_WORDS_AFTER_CUT = 4


def clean_continuation(
    text: str,
    length: str,
    special_tokens: list[str] | tuple[str, ...] = (),
    *,
    cut_off: bool = False,
) -> str:
    """``cut_off``: the model was stopped by the token limit, mid-sentence as a rule ("…and
    landed on a"); Tab would put that half sentence into the manuscript."""
    text = strip_markers(text, special_tokens)
    if length == "sentence":
        match = _SENTENCE_END.search(text)
        if match is not None:
            text = text[: match.end()]
    elif cut_off:
        kept = drop_unfinished_sentence(text)
        if len(kept.split()) >= MIN_WORDS_AFTER_CUT:
            text = kept
    return text.rstrip()


def clean_answer(
    task: Task, text: str, source: str = "", special_tokens: list[str] | tuple[str, ...] = ()
) -> str:
    """An instruction task's answer without markers, preambles or stray quotes."""
    raw = strip_markers(text, special_tokens)
    cleaned = _ROLE_LINE.sub("", raw, count=1)
    cleaned = _PREAMBLE.sub("", cleaned, count=1)
    without_intro = _INTRO_PARAGRAPH.sub("", cleaned, count=1)
    if without_intro.strip():
        cleaned = without_intro
    cleaned = cleaned.strip()
    if (
        len(cleaned) >= 2
        and cleaned[0] in '"“'
        and cleaned[-1] in '"”'
        and not source.strip().startswith(('"', "“"))
        and cleaned.count(cleaned[0]) <= 2
    ):
        cleaned = cleaned[1:-1].strip()
    if task is Task.BRAINSTORM:
        cleaned = _as_list(cleaned, source)
    return cleaned or raw.strip()


def _as_list(text: str, source: str) -> str:
    """One "- " item per line; ideas that only restate ``source`` are left out while others
    remain (the check then counts what is left)."""
    items = list_items(text)
    restated = restated_ideas(items, source)
    new = [item for item in items if item not in restated]
    return "\n".join(f"- {item}" for item in (new or items))


class AnswerStream:
    """Streams an instruction answer without its leading whitespace or chatty introduction.

    Text is held back only while it could still be an introduction ("Sure! Here is ...:");
    anything else flows through at once."""

    _DECIDE_AFTER = 12  # characters needed to tell an introduction's first word
    _MAX_INTRO = 240

    def __init__(self) -> None:
        self._held = ""
        self._open = False

    def feed(self, piece: str) -> str:
        if self._open:
            return piece
        self._held += piece
        text = self._held.lstrip()
        if not text:
            return ""
        if len(text) < self._DECIDE_AFTER and "\n" not in text:
            return ""
        if not _INTRO_START.match(text):
            return self._release(text)
        first, newline, rest = text.partition("\n")
        if not newline:
            return self._release(text) if len(first) > self._MAX_INTRO else ""
        if not first.rstrip().endswith(":") and not _ROLE_LINE.match(text):
            return self._release(text)
        if not rest.strip():
            return ""  # wait for the answer after the introduction
        return self._release(rest.lstrip())

    def flush(self) -> str:
        """End of the answer: whatever is still held is the answer itself."""
        if self._open:
            return ""
        return self._release(self._held.strip())

    def _release(self, text: str) -> str:
        self._open = True
        self._held = ""
        return text


def drop_unfinished_sentence(text: str) -> str:
    """An answer cut off by its token limit, without the sentence it left unfinished (when
    at least one sentence is complete)."""
    stripped = text.rstrip()
    if not stripped or stripped[-1] in '.!?…"”’)':
        return stripped
    ends = list(_SENTENCE_END.finditer(stripped))
    return stripped[: ends[-1].end()] if ends else stripped
