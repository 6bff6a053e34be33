"""Find and replace over plain text: case, whole word, regular expression.

Offsets are Python string indices; ``utf16_offset`` converts them for Qt, whose positions
count UTF-16 code units (emoji and other astral characters count twice there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from desktop.library.errors import LibraryError


@dataclass(frozen=True)
class SearchOptions:
    case_sensitive: bool = False
    whole_word: bool = False
    regex: bool = False


class Match(NamedTuple):  # a tuple: tens of thousands are made per search as you type
    start: int
    end: int
    replacement: str = ""


def compile_pattern(query: str, options: SearchOptions) -> re.Pattern[str]:
    if not query:
        raise LibraryError("Type something to find.")
    source = query if options.regex else re.escape(query)
    if options.whole_word:
        source = rf"\b(?:{source})\b"
    flags = re.MULTILINE | (0 if options.case_sensitive else re.IGNORECASE)
    try:
        return re.compile(source, flags)
    except re.error as exc:
        raise LibraryError(f"That regular expression isn't valid: {exc}.") from exc


def find_all(
    text: str, query: str, options: SearchOptions, replacement: str | None = None
) -> list[Match]:
    pattern = compile_pattern(query, options)
    if replacement is None:
        return [Match(a, b) for a, b in (f.span() for f in pattern.finditer(text)) if a != b]
    matches = []
    for found in pattern.finditer(text):
        if found.start() == found.end():
            continue  # empty matches (e.g. ``^``) select nothing
        matches.append(Match(found.start(), found.end(), _expand(found, replacement, options)))
    return matches


def _expand(found: re.Match[str], replacement: str, options: SearchOptions) -> str:
    if not options.regex:
        return replacement
    try:
        return found.expand(replacement)
    except (re.error, IndexError) as exc:
        raise LibraryError(f"The replacement refers to a group that doesn't exist: {exc}.") from exc


def replace_all(text: str, query: str, replacement: str, options: SearchOptions) -> tuple[str, int]:
    matches = find_all(text, query, options, replacement)
    pieces, last = [], 0
    for match in matches:
        pieces.append(text[last : match.start])
        pieces.append(match.replacement)
        last = match.end
    pieces.append(text[last:])
    return "".join(pieces), len(matches)


def utf16_offset(text: str, index: int) -> int:
    prefix = text[:index]
    if prefix.isascii():
        return index
    return index + sum(1 for ch in prefix if ord(ch) > 0xFFFF)
