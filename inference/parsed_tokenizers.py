"""Parsed tokenizer files, shared within the process.

Parsing a model's ``tokenizer.json`` (~50,000 tokens and merges) takes ~0.1 s of CPU and the
``tokenizers`` library holds the interpreter lock all the while: in the editor that froze
typing for as long, whichever thread parsed it. So the editor parses it once during start-up,
before the window takes typing (``desktop/ui/app.py``), and the model load later finds it here.
Light to import: no onnxruntime, no numpy."""

from __future__ import annotations

import threading
from pathlib import Path

import tokenizers

_lock = threading.Lock()
_parsed: dict[tuple[str, int, int], tokenizers.Tokenizer] = {}


def parse(path: Path) -> tokenizers.Tokenizer:
    """``path`` parsed, once per file version (path, size, modification time); a second
    caller waits for a parse in progress. Raises what ``tokenizers`` raises for a bad file."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _lock:
        backend = _parsed.get(key)
        if backend is None:
            backend = tokenizers.Tokenizer.from_file(str(path))
            _parsed.clear()  # only the newest: a rebuilt or another model replaces it
            _parsed[key] = backend
        return backend
