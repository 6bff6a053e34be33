from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.settings import Settings


def test_settings_defaults_types_and_persistence(isolated_user_dirs: dict[str, Path]) -> None:
    settings = Settings()
    assert settings.theme() == "system"
    assert settings.daily_word_goal() == 1000
    assert settings.library_path() == isolated_user_dirs["documents"] / "Draftsmith"
    settings.set("theme", "dark")
    settings.set("font_size", 15)
    settings.save()
    assert (isolated_user_dirs["config"] / "Draftsmith" / "settings.json").exists()
    again = Settings()
    assert again.theme() == "dark" and again.get_int("font_size") == 15
    with pytest.raises(KeyError):
        settings.set("no_such_setting", 1)


def test_settings_survive_garbage(isolated_user_dirs: dict[str, Path]) -> None:
    path = isolated_user_dirs["config"] / "Draftsmith" / "settings.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"font_size": "huge", "spell_check": 1, "theme": "neon"}))
    settings = Settings()
    assert settings.get_int("font_size") == 13
    assert settings.get_bool("spell_check") is True
    assert settings.theme() == "system"
    path.write_text("{broken")
    assert Settings().get_int("font_size") == 13
