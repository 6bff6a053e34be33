"""The persistent word-count cache: what one session counted, the next one knows."""

from __future__ import annotations

import json
from pathlib import Path

from desktop.library import word_count_cache
from desktop.library.word_count_cache import WordCountCache


def _library(tmp_path: Path, count: int) -> tuple[Path, list[Path]]:
    root = tmp_path / "Library"
    root.mkdir()
    documents = []
    for number in range(count):
        path = root / f"Chapter {number}.md"
        path.write_text("word " * (number % 50), encoding="utf-8")
        documents.append(path)
    return root, documents


def _saved(tmp_path: Path, count: int) -> tuple[Path, list[Path], Path]:
    """A library of ``count`` documents, counted, and its cache file written."""
    root, documents = _library(tmp_path, count)
    cache_file = tmp_path / "cache" / "counts.json"
    cache = WordCountCache(root, cache_file)
    for path in documents:
        cache.words(path, lambda data: len(data.split()), lambda data: str(len(data)))
    cache.save()
    return root, documents, cache_file


def test_a_cache_bigger_than_one_chunk_is_written_in_lines_and_comes_back_whole(
    tmp_path: Path,
) -> None:
    """Written and read a chunk of entries per line (so neither holds the interpreter lock
    for long: the GUI thread may be waiting for it)."""
    root, documents, cache_file = _saved(tmp_path, word_count_cache.ENCODE_CHUNK * 2 + 7)
    lines = cache_file.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"version": word_count_cache.VERSION}
    assert [len(json.loads(line)) for line in lines[1:]] == [
        word_count_cache.ENCODE_CHUNK,
        word_count_cache.ENCODE_CHUNK,
        7,
    ]
    again = WordCountCache(root, cache_file)
    assert again.remembered_all([str(p) for p in documents]) == {
        str(path): number % 50 for number, path in enumerate(documents)
    }


def test_a_cache_from_the_earlier_single_document_format_is_still_read(tmp_path: Path) -> None:
    root, documents, cache_file = _saved(tmp_path, 3)
    entries = {}
    for line in cache_file.read_text(encoding="utf-8").splitlines()[1:]:
        entries.update(json.loads(line))
    cache_file.write_text(json.dumps({"version": 1, "documents": entries}), encoding="utf-8")
    again = WordCountCache(root, cache_file)
    assert again.remembered_all([str(p) for p in documents]) == {
        str(documents[0]): 0,
        str(documents[1]): 1,
        str(documents[2]): 2,
    }


def test_a_damaged_line_costs_only_a_recount(tmp_path: Path) -> None:
    root, documents, cache_file = _saved(tmp_path, 3)
    cache_file.write_text(cache_file.read_text(encoding="utf-8")[:-9], encoding="utf-8")
    assert WordCountCache(root, cache_file).remembered_all([str(p) for p in documents]) == {}
