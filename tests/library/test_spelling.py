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
    # A name the writer added is suggested for its typos, one or two edits away.
    assert spell.suggestions("Zorblx") == ["Zoril", "Zorils"]
    spell.add_to_personal("Zorblax")
    assert spell.suggestions("Zorblx") == ["Zorblax"]  # one edit away: the two-edit ones go
    assert spell.suggestions("Zrblx") == ["Zorblax"]
    assert SpellDictionary("en", personal).suggestions("Zorblax’z") == ["Zorblax’s"]
    assert spell.suggestions("dont") == ["don't", "done", "don", "wont", "dot", "font", "dent"]
    assert spell.suggestions("do’nt")[0] == "don’t"
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

    from desktop.library.spelling import load_frequencies  # parsed in pieces

    packed = pkgutil.get_data("spellchecker", "resources/de.json.gz")
    assert packed is not None
    assert load_frequencies("de") == json.loads(gzip.decompress(packed).decode("utf-8"))


def test_the_word_table_is_pyspellcheckers_and_is_cached_and_rebuilt_when_damaged(
    tmp_path: Path,
) -> None:
    import time

    from spellchecker import SpellChecker

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
    plain = SpellDictionary("en", tmp_path / "personal.txt")  # no cache
    assert built._words == cached._words == plain._words
    # The same words and counts as pyspellchecker's own load of its list.
    reference = SpellChecker(language="en").word_frequency
    words = plain._words
    assert dict(zip(words, words.counts, strict=True)) == reference.dictionary
    assert set(words.letters) == reference.letters
    assert (words.longest, words.total) == (reference.longest_word_length, reference.total_words)
    assert cached.suggestions("teh") == plain.suggestions("teh")
    assert cached_seconds < build_seconds / 5  # ~0.01 s against ~0.6 s
    # Another bundled list (a new pyspellchecker) is another file, and replaces the old one and
    # the earlier format's; a damaged one is rebuilt.
    assert table_cache_path(cache, "en", b"other") != path
    stale = [cache / "en-1-00000000-1.jsonl", cache / "en-1-00000000-2.words"]
    for old in stale:
        old.write_text("{}", encoding="utf-8")
    (cache / "de-1-00000000-2.words").write_text("{}", encoding="utf-8")  # another language's
    whole = path.read_bytes()
    flipped = whole[:-1000] + bytes([whole[-1000] ^ 1]) + whole[-999:]
    for damaged in (whole[:100_000], flipped, b"", b"DSWORDS1\n{}\n", b"\x00" * 64):
        path.write_bytes(damaged)
        again = SpellDictionary("en", tmp_path / "personal.txt", cache)
        assert again._words == plain._words
        assert path.read_bytes() == whole  # written whole again
    assert not any(old.exists() for old in stale)
    assert (cache / "de-1-00000000-2.words").exists()


def test_a_loaded_dictionary_holds_no_python_object_per_word(tmp_path: Path) -> None:
    """160,000 words as a dict and strings took ~20 MB of the editor and ~0.1 s of the
    loading thread's interpreter time at every start (the GUI thread waits meanwhile)."""
    import gc
    import tracemalloc

    SpellDictionary("en", tmp_path / "personal.txt", tmp_path / "cache")  # builds the cache
    gc.collect()
    tracemalloc.start()
    try:
        dictionary = SpellDictionary("en", tmp_path / "personal.txt", tmp_path / "cache")
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert dictionary.is_correct("harbour") and not dictionary.is_correct("harbuor")
    assert held < 6_000_000  # the words' text (1.4 MB), their offsets and counts (1.9 MB)


def test_suggestions_are_pyspellcheckers(tmp_path: Path) -> None:
    """The same candidates as pyspellchecker's distance-2 search (its own checker, fed the same
    typos of its words), found without generating every string two edits away."""
    import random

    from spellchecker import SpellChecker

    for language in ("en", "de", "ru"):
        spell = SpellDictionary(language, tmp_path / "personal.txt", tmp_path / "cache")
        reference = SpellChecker(language=language, distance=2)
        words, letters = spell._words, spell._words.letters
        pick = random.Random(language)
        missed = found = 0
        for _ in range(8):
            typo = list(pick.choice([w for w in words if len(w) > 4][:20_000]))
            for _ in range(pick.choice((1, 2))):
                at = pick.randrange(len(typo))
                typo[at : at + 1] = pick.choice(([pick.choice(letters)], [], [typo[at]] * 2))
            wanted = reference.candidates("".join(typo)) or set()
            got = {w for w in spell._candidates("".join(typo)) if w in words}  # no British forms
            # A word only two *sequential* edits reach (a swap of a letter the other edit moved)
            # is beyond optimal string alignment's two; rare, and never a closer word.
            assert got <= wanted, "".join(typo)
            missed += len(wanted - got)
            found += len(got)
        assert missed <= found // 10


@pytest.mark.perf
def test_suggestions_for_a_name_come_at_once(tmp_path: Path) -> None:
    """A right-click on a character's name (nothing within two edits) generated and looked up
    ~900,000 strings on the GUI thread: ~0.9 s before the menu opened."""
    import time

    from tests.perf import expect_fast

    english = SpellDictionary("en", tmp_path / "personal.txt", tmp_path / "cache")
    assert english.suggestions("Brandtt") == ["Brandt"]
    started = time.perf_counter()
    assert english.suggestions("Zorblax") == [] and english.suggestions("Qwxyzzy") == []
    expect_fast((time.perf_counter() - started) / 2, 0.3, "suggestions for a name nothing is near")


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
    # A British writer's typo is offered the British spelling too.
    assert spell.suggestions("harbuor") == ["harbor", "harbour"]
    assert "neighbour" in spell.suggestions("neighbuor")
    assert "cancelled" in spell.suggestions("cancelld")
    assert spell.suggestions("Realsie") == ["Realise"]
