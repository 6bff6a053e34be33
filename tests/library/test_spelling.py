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
