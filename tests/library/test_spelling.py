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
