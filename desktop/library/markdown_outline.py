"""Headings of a Markdown document, for the outline pane and "go to heading"."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^(```|~~~)")


@dataclass(frozen=True)
class Heading:
    level: int
    title: str
    line: int  # 0-based block number


def headings(text: str) -> list[Heading]:
    found = []
    in_code = False
    for number, line in enumerate(text.split("\n")):
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            continue
        match = _ATX.match(line)
        if match:
            found.append(Heading(len(match.group(1)), match.group(2).strip(), number))
    return found
