"""The persistent word-count cache: what one session counted, the next one knows."""

from __future__ import annotations

import json
from pathlib import Path

from desktop.library import word_count_cache
from desktop.library.word_count_cache import WordCountCache


def test_a_cache_bigger_than_one_encoding_chunk_comes_back_whole(tmp_path: Path) -> None:
    """The cache is written a chunk of entries at a time (so the counting thread never holds
    the interpreter lock for long); the file is still one JSON document with every entry."""
    root = tmp_path / "Library"
    root.mkdir()
    count = word_count_cache.ENCODE_CHUNK * 2 + 7
    documents = []
    for number in range(count):
        path = root / f"Chapter {number}.md"
        path.write_text("word " * (number % 50), encoding="utf-8")
        documents.append(path)
    cache_file = tmp_path / "cache" / "counts.json"
    cache = WordCountCache(root, cache_file)
    for path in documents:
        cache.words(path, lambda data: len(data.split()), lambda data: str(len(data)))
    cache.save()
    saved = json.loads(cache_file.read_text(encoding="utf-8"))
    assert saved["version"] == word_count_cache.VERSION
    assert len(saved["documents"]) == count
    again = WordCountCache(root, cache_file)
    assert again.remembered_all([str(p) for p in documents]) == {
        str(path): number % 50 for number, path in enumerate(documents)
    }
