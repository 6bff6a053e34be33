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


def is_untitled(stem: str) -> bool:
    """“Untitled”, “Untitled 2”…: names Draftsmith gave, not the writer."""
    return bool(_UNTITLED_NAME.match(stem))


def title_from_text(text: str) -> str:
    """The first heading, else the first line with words; "" when there is nothing yet."""
    found = headings(text[:20_000])
    if found:
        line = found[0].title
    else:
        line = next((ln for ln in text[:20_000].split("\n") if ln.strip()), "")
    title = _NOT_IN_NAMES.sub(" ", _MARKDOWN_MARKS.sub("", line))
    title = " ".join(title.split()).strip(" .-")
    if len(title) > MAX_TITLE_CHARS:
        cut = title[:MAX_TITLE_CHARS].rsplit(" ", 1)[0]
        title = (cut if len(cut) > MAX_TITLE_CHARS // 2 else title[:MAX_TITLE_CHARS]).rstrip(" .-")
    return title


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
