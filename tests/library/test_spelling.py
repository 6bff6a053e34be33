from __future__ import annotations

from pathlib import Path

import pytest

from desktop.library.spelling import SpellDictionary


def test_spelling_suggestions_and_personal_dictionary(tmp_path: Path) -> None:
    personal = tmp_path / "personal.txt"
    spell = SpellDictionary("en", personal)
    found = [w for _, _, w in spell.misspelled("Helo world, Zorblax’s wrold")]
    assert found == ["Helo", "Zorblax’s", "wrold"]
    assert spell.suggestions("wrold")[0] == "world"
    assert "Hello" in spell.suggestions("Helo")
    spell.add_to_personal("Zorblax’s")
    assert SpellDictionary("en", personal).is_correct("Zorblax’s")
    with pytest.raises(ValueError):
        SpellDictionary("xx", personal)


def test_spelling_checks_only_the_script_its_dictionary_covers(tmp_path: Path) -> None:
    spell = SpellDictionary("en", tmp_path / "personal.txt")
    text = "我们今天去公园散步 今日はいい天気 안녕하세요 Helo"
    assert [w for _, _, w in spell.misspelled(text)] == ["Helo"]
    assert not spell.covers("東京") and spell.covers("don’t")
    russian = SpellDictionary("ru", tmp_path / "personal.txt")
    assert [w for _, _, w in russian.misspelled("привет превет 中文 hello")] == ["превет"]


def test_the_chunked_loader_reads_the_bundled_dictionary_exactly() -> None:
    import gzip
    import json
    import pkgutil

    from desktop.library.spelling import load_frequencies

    packed = pkgutil.get_data("spellchecker", "resources/de.json.gz")
    assert packed is not None
    assert load_frequencies("de") == json.loads(gzip.decompress(packed).decode("utf-8"))


def test_the_built_word_table_is_cached_and_a_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    import time

    from desktop.library.spelling import _bundled, table_cache_path

    cache = tmp_path / "cache"
    started = time.perf_counter()
    built = SpellDictionary("en", tmp_path / "personal.txt", cache)
    build_seconds = time.perf_counter() - started
    path = table_cache_path(cache, "en", _bundled("en"))
    assert path.is_file() and list(cache.iterdir()) == [path]
    started = time.perf_counter()
    cached = SpellDictionary("en", tmp_path / "personal.txt", cache)
    cached_seconds = time.perf_counter() - started
    plain = SpellDictionary("en", tmp_path / "personal.txt")  # no cache: as before
    for dictionary in (built, cached):
        for field in ("_dictionary", "_letters", "_longest_word_length", "_total_words"):
            got = getattr(dictionary._checker.word_frequency, field)
            assert got == getattr(plain._checker.word_frequency, field), field
    assert cached.suggestions("teh") == plain.suggestions("teh")
    assert cached_seconds < build_seconds  # ~0.2 s against ~0.6 s
    # Another bundled list (a new pyspellchecker) is another file, and replaces the old one;
    # a damaged one is rebuilt.
    assert table_cache_path(cache, "en", b"other") != path
    stale = cache / "en-1-00000000-1.jsonl"
    stale.write_text("{}", encoding="utf-8")
    (cache / "de-1-00000000-1.jsonl").write_text("{}", encoding="utf-8")  # another language's
    path.write_text(path.read_text(encoding="utf-8")[:100_000], encoding="utf-8")
    again = SpellDictionary("en", tmp_path / "personal.txt", cache)
    assert again._checker.word_frequency._dictionary == plain._checker.word_frequency._dictionary
    assert path.stat().st_size > 1_000_000  # written whole again
    assert not stale.exists() and (cache / "de-1-00000000-1.jsonl").exists()


def test_filling_the_checker_runs_no_python_per_word(tmp_path: Path) -> None:
    """The checker's table is filled a piece at a time by C code: pyspellchecker's own
    ``Counter.update`` loops over every word in Python (three times the CPU time of a cached
    load's fill, with the GUI thread waiting for the interpreter lock meanwhile)."""
    import sys

    from spellchecker import SpellChecker

    from desktop.library.spelling import _fill, load_table

    table = load_table("en", tmp_path / "cache")
    checker = SpellChecker(language=None, distance=2)
    lines = 0

    def trace(frame, event, arg):
        nonlocal lines
        lines += event == "line"
        return trace

    sys.settrace(trace)
    try:
        _fill(checker.word_frequency, table)
    finally:
        sys.settrace(None)
    words = sum(map(len, table.pieces))
    assert len(checker.word_frequency._dictionary) == words > 100_000
    assert lines < 20 * len(table.pieces)  # a few lines per piece, none per word


@pytest.mark.perf
def test_loading_a_dictionary_lets_the_gui_thread_run(tmp_path: Path) -> None:
    """The dictionary loads in a worker thread; it must hand the interpreter lock back often
    enough that the GUI thread (here: a 1 ms ticker) is never held up for frames."""
    import threading
    import time

    from tests.perf import expect_fast

    gaps: list[float] = []
    loaded = threading.Event()

    def load() -> None:  # built, then read from the cache: both hand the lock over
        SpellDictionary("en", tmp_path / "personal.txt", tmp_path / "cache")
        SpellDictionary("en", tmp_path / "personal.txt", tmp_path / "cache")
        loaded.set()

    threading.Thread(target=load, daemon=True).start()
    last = time.perf_counter()
    while not loaded.is_set():
        time.sleep(0.001)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    expect_fast(max(gaps), 0.060, "longest wait of another thread while a dictionary loads")


def test_english_accepts_british_spellings_and_still_flags_typos(tmp_path: Path) -> None:
    """The bundled English list is American; a writer in Britain, Australia or India writes
    "harbour", "realise" and "centre" and must not see them underlined."""
    spell = SpellDictionary("en", tmp_path / "personal.txt")
    british = (
        "The harbour’s colourful centre: we realised the theatre programme was cancelled, "
        "travelled to analyse the catalogue, paid by cheque, and the paediatric manoeuvre "
        "made the neighbours sceptical of its defence."
    )
    assert spell.misspelled(british) == []
    typos = "harbuor colur realsie centrre teh recieve seperate occured"
    assert [w for _, _, w in spell.misspelled(typos)] == typos.split()
    assert not SpellDictionary("fr", tmp_path / "personal.txt").is_correct("harbour")
