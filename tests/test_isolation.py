"""The suite never reads or writes the real home folders (settings, license state, backups)."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_a_test_undoing_its_own_patches_stays_in_its_own_folders(
    monkeypatch: pytest.MonkeyPatch, isolated_user_dirs: dict[str, Path]
) -> None:
    from desktop import paths
    from licensing.client.paths import state_path, trial_record_path

    monkeypatch.setenv("DRAFTSMITH_EXAMPLE", "1")
    monkeypatch.undo()  # as tests do to drop their own patches part-way
    assert state_path().is_relative_to(isolated_user_dirs["data"])
    assert trial_record_path().is_relative_to(isolated_user_dirs["config"])
    assert paths.config_dir().is_relative_to(isolated_user_dirs["config"])
