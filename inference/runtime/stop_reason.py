"""Why a generation ended: shown in the editor's log, written by the CLI's JSON output."""

from __future__ import annotations

import enum


class StopReason(enum.StrEnum):
    """A StrEnum, so it equals and serialises as its plain value ("cancelled", ...)."""

    END_TOKEN = "end_token"  # the model ended its answer itself
    STOP_STRING = "stop_string"  # one of the request's stop strings appeared
    MAX_TOKENS = "max_tokens"  # the request's token budget ran out
    CONTEXT_FULL = "context_full"  # no room left in the model's context window
    CANCELLED = "cancelled"  # the writer (or a newer request) cancelled it
    EXTRACTIVE = "extractive"  # the answer is the writer's own sentences, not generated text
