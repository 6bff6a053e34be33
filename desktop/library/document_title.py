"""A name for a new document from what the writer wrote: its first heading, else its first
line — so "Untitled 3" becomes "The Lighthouse" without the writer having to stop and name it.
"""

from __future__ import annotations

import re
from pathlib import Path

from desktop.library.markdown_outline import headings

UNTITLED = "Untitled"
MAX_TITLE_CHARS = 60
_UNTITLED_NAME = re.compile(rf"^{UNTITLED}( \d+)?$")
_MARKDOWN_MARKS = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+]\s+|\d+[.)]\s+)|[*_`~]+|\[|\]\([^)]*\)")
_NOT_IN_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)]*\s+")
# A full stop after these does not end a sentence ("Mr. Hale came home.").
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "mt", "prof", "jr", "sr", "vs", "etc"})


def is_untitled(stem: str) -> bool:
    """“Untitled”, “Untitled 2”…: names Draftsmith gave, not the writer."""
    return bool(_UNTITLED_NAME.match(stem))


def title_from_text(text: str) -> str:
    """The first heading, else the first sentence of the first line with words; "" when
    there is nothing yet."""
    found = headings(text[:20_000])
    if found:
        line = _MARKDOWN_MARKS.sub("", found[0].title)
    else:
        line = next((ln for ln in text[:20_000].split("\n") if ln.strip()), "")
        line = first_sentence(_MARKDOWN_MARKS.sub("", line))
    title = _NOT_IN_NAMES.sub(" ", line)
    title = " ".join(title.split()).strip(" .-")
    if len(title) > MAX_TITLE_CHARS:
        cut = title[:MAX_TITLE_CHARS].rsplit(" ", 1)[0]
        title = (cut if len(cut) > MAX_TITLE_CHARS // 2 else title[:MAX_TITLE_CHARS]).rstrip(" .-")
    return title


def first_sentence(line: str) -> str:
    """``line`` up to the end of its first sentence: one of three words or more that ends
    before a capital, a digit or an opening quote (a dialogue tag such as "…?” she asked"
    carries on; "Chapter 1." is a label, not a sentence)."""
    for end in _SENTENCE_END.finditer(line):
        words = line[: end.start()].split()
        following = line[end.end() : end.end() + 1]
        if len(words) < 3 or words[-1].lower() in _ABBREVIATIONS:
            continue
        if following and (following.isupper() or following.isdigit() or following in "\"“‘'("):
            return line[: end.end()].rstrip()
    return line


def free_title(folder: Path, title: str, suffix: str, keep: Path | None = None) -> str:
    """``title`` or “title 2”, “title 3”… so no other file in ``folder`` is overwritten
    (``keep``, the document being named, doesn't count)."""
    candidate, number = title, 2
    while True:
        path = folder / f"{candidate}{suffix}"
        if not path.exists() or (keep is not None and path.resolve() == keep.resolve()):
            return candidate
        candidate = f"{title} {number}"
        number += 1
