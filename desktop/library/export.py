"""Export a document or a folder of chapters: Markdown, plain text, HTML, DOCX.

PDF needs Qt's printing and lives in ``desktop.ui.pdf_export``.
"""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path

from desktop.library.atomic_write import atomic_write_bytes, atomic_write_text
from desktop.library.document_file import decode_document
from desktop.library.errors import save_error_from_os_error

logger = logging.getLogger(__name__)

FORMATS = {
    "md": "Markdown",
    "txt": "Plain text",
    "html": "HTML",
    "docx": "Word (DOCX)",
    "pdf": "PDF",
}

HTML_STYLE = """
body { font-family: Georgia, 'DejaVu Serif', serif; max-width: 40em; margin: 3em auto;
       line-height: 1.6; color: #222; padding: 0 1em; }
blockquote { border-left: 3px solid #ccc; margin-left: 0; padding-left: 1em; color: #555; }
code, pre { font-family: 'DejaVu Sans Mono', monospace; background: #f4f4f4; }
"""

_INLINE = re.compile(r"(\*\*|__)(.+?)\1|(\*|_)(.+?)\3|`([^`]+)`")
_LIST = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+(.*)$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def folder_text(documents: list[Path]) -> str:
    """Chapters in the given order, separated by a blank line."""
    parts = [decode_document(doc.read_bytes()).strip("\n") for doc in documents]
    return "\n\n".join(parts) + "\n"


def markdown_to_plain(text: str) -> str:
    lines = []
    in_code = False
    for line in text.split("\n"):
        if line.startswith(("```", "~~~")):
            in_code = not in_code
            continue
        if not in_code:
            heading = _HEADING.match(line)
            if heading:
                line = heading.group(2)
            line = re.sub(r"^\s*>\s?", "", line)
            listed = _LIST.match(line)
            if listed:
                marker = "•" if listed.group(2)[0] in "-*+" else listed.group(2)
                line = f"{listed.group(1)}{marker} {listed.group(3)}"
            line = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", line)
            line = _INLINE.sub(lambda m: m.group(2) or m.group(4) or m.group(5) or "", line)
        lines.append(line)
    return "\n".join(lines)


def markdown_to_html(text: str, title: str = "Document") -> str:
    import markdown

    body = markdown.markdown(
        text, extensions=["extra", "sane_lists", "smarty"], output_format="html"
    )
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{HTML_STYLE}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def _add_inline(paragraph: object, text: str) -> None:
    last = 0
    for match in _INLINE.finditer(text):
        if match.start() > last:
            paragraph.add_run(text[last : match.start()])  # type: ignore[attr-defined]
        if match.group(2) is not None:
            paragraph.add_run(match.group(2)).bold = True  # type: ignore[attr-defined]
        elif match.group(4) is not None:
            paragraph.add_run(match.group(4)).italic = True  # type: ignore[attr-defined]
        else:
            run = paragraph.add_run(match.group(5))  # type: ignore[attr-defined]
            run.font.name = "Courier New"
        last = match.end()
    if last < len(text):
        paragraph.add_run(text[last:])  # type: ignore[attr-defined]


def markdown_to_docx_bytes(text: str, title: str = "Document") -> bytes:
    import io

    import docx

    document = docx.Document()
    document.core_properties.title = title
    paragraph_lines: list[str] = []
    code_lines: list[str] | None = None

    def flush() -> None:
        if paragraph_lines:
            _add_inline(document.add_paragraph(), " ".join(s.strip() for s in paragraph_lines))
            paragraph_lines.clear()

    for line in text.split("\n"):
        if line.startswith(("```", "~~~")):
            flush()
            if code_lines is None:
                code_lines = []
            else:
                para = document.add_paragraph()
                run = para.add_run("\n".join(code_lines))
                run.font.name = "Courier New"
                code_lines = None
            continue
        if code_lines is not None:
            code_lines.append(line)
            continue
        heading = _HEADING.match(line)
        listed = _LIST.match(line)
        if not line.strip():
            flush()
        elif heading:
            flush()
            _add_inline(document.add_heading(level=len(heading.group(1))), heading.group(2))
        elif line.lstrip().startswith(">"):
            flush()
            quote = re.sub(r"^\s*>\s?", "", line)
            _add_inline(document.add_paragraph(style="Quote"), quote)
        elif listed:
            flush()
            style = "List Bullet" if listed.group(2)[0] in "-*+" else "List Number"
            if len(listed.group(1).expandtabs(4)) >= 2:
                style += " 2"
            _add_inline(document.add_paragraph(style=style), listed.group(3))
        else:
            paragraph_lines.append(line)
    flush()
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def export_text(text: str, destination: Path, fmt: str, title: str = "Document") -> None:
    """Write ``text`` (Markdown) as ``fmt``; raises SaveError in plain words on failure."""
    destination = Path(destination)
    try:
        if fmt == "md":
            atomic_write_text(destination, text)
        elif fmt == "txt":
            atomic_write_text(destination, markdown_to_plain(text))
        elif fmt == "html":
            atomic_write_text(destination, markdown_to_html(text, title))
        elif fmt == "docx":
            atomic_write_bytes(destination, markdown_to_docx_bytes(text, title))
        else:
            raise ValueError(f"Unknown export format {fmt!r}")
    except OSError as exc:
        raise save_error_from_os_error(destination, exc) from exc
