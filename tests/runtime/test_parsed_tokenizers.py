"""A model's tokenizer file is parsed once per process and file version: the editor parses it
during start-up, and the model load later takes that parse instead of freezing typing for as
long as a second one would hold the interpreter lock."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import tokenizers

import inference.parsed_tokenizers as parsed_tokenizers
from inference.runtime.tokenizer import Tokenizer


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every real parse of a tokenizer file (a spy: the real parse runs)."""
    seen: list[str] = []
    real = tokenizers.Tokenizer.from_file

    def spy(path: str) -> Any:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(parsed_tokenizers.tokenizers.Tokenizer, "from_file", spy)
    return seen


def test_a_tokenizer_parsed_early_is_not_parsed_again(
    runtime_model_dir: Path, tmp_path: Path, parses: list[str]
) -> None:
    source = runtime_model_dir / "tokenizer.json"
    copy = tmp_path / "tokenizer.json"  # a file of its own: no other test's parse counts
    copy.write_bytes(source.read_bytes())
    early = parsed_tokenizers.parse(copy)  # what the editor does while its window is built
    tokenizer = Tokenizer.from_file(copy)  # what the model load does later
    assert parses == [str(copy)]
    assert tokenizer.backend is early
    assert tokenizer.decode(tokenizer.encode("The keeper climbed.")) == "The keeper climbed."

    # A rebuilt model's tokenizer is a new file version: parsed again.
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert Tokenizer.from_file(copy).backend is not early
    assert parses == [str(copy), str(copy)]


def test_a_damaged_tokenizer_file_is_still_a_plain_error(tmp_path: Path) -> None:
    from inference.runtime.tokenizer import TokenizerError

    damaged = tmp_path / "tokenizer.json"
    damaged.write_text("{not json", encoding="utf-8")
    with pytest.raises(TokenizerError, match="cannot be read"):
        Tokenizer.from_file(damaged)
