"""The model registry: which built models there are and what each one is, the writer's choice
(through the real settings file), speed measured and kept beside the model, and removal that
refuses the model that comes with Draftsmith and asks before removing the one in use."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from desktop.settings import Settings
from inference.model_folder import MANIFEST_NAME, find_default_model
from inference.model_registry import (
    ModelInUseError,
    ModelRegistry,
    ModelRemovalError,
    built_path_from_output,
    measure_speed,
    model_tools_missing,
    read_speed,
    speed_file,
)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "models"
    root.mkdir()
    monkeypatch.setenv("DRAFTSMITH_MODEL_CACHE", str(root))
    monkeypatch.setattr("inference.model_cache.bundled_models_dir", lambda: tmp_path / "bundle")
    return root


def add_model(root: Path, source: Path, name: str, **source_fields: object) -> Path:
    """A copy of a built model folder under another name (the manifest's descriptive fields,
    which no checksum covers, say what the test needs)."""
    target = root / name
    shutil.copytree(source, target)
    manifest = json.loads((target / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["name"] = name
    manifest["source"].update(source_fields)
    (target / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    return target


def test_lists_every_built_model_with_what_a_writer_needs_to_choose(
    cache: Path, tiny_model_dir: Path
) -> None:
    assert ModelRegistry().models() == []
    tiny = add_model(cache, tiny_model_dir, "Tiny")
    add_model(
        cache,
        tiny_model_dir,
        "Licensed",
        file="Qwen2.5-0.5B-Instruct-Q4_K_M.gguf",
        metadata={"license": "apache-2.0"},
    )
    (cache / "not-a-model").mkdir()
    broken = add_model(cache, tiny_model_dir, "Broken")
    (broken / "tokenizer.json").unlink()  # incomplete: never offered

    entries = {e.name: e for e in ModelRegistry().models()}
    assert set(entries) == {"Tiny", "Licensed"}
    entry = entries["Tiny"]
    assert entry.path == tiny
    assert entry.architecture == "llama"
    assert entry.context_length == 256
    # the tiny GGUF stores Q4_1 linears and a Q8_0 embedding; its file name names no mix
    assert entry.quantization.split(", ")[0] == "Q4_1" and "Q8_0" in entry.quantization
    assert set(entry.variants) == {"q4", "fp32"}
    assert entry.size_bytes == sum(p.stat().st_size for p in tiny.iterdir())
    assert entry.license == "" and entry.speed is None
    assert entries["Licensed"].license == "apache-2.0"
    assert entries["Licensed"].quantization == "Q4_K_M"


def test_the_choice_persists_in_the_settings_file_and_picks_the_default(
    cache: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    first = add_model(cache, tiny_model_dir, "First", is_default=True)
    second = add_model(cache, tiny_model_dir, "Second")
    registry = ModelRegistry()
    built_in = registry.default()
    assert built_in is not None and built_in.path == first and built_in.built_in
    assert built_in.fallback and not built_in.removable
    assert registry.setting_for(built_in) == ""

    chosen = next(e for e in registry.models() if e.path == second)
    settings = Settings(tmp_path / "settings.json")
    settings.set("ai_model_dir", registry.setting_for(chosen))
    settings.save()
    again = Settings(tmp_path / "settings.json")
    default = ModelRegistry(again.ai_model_dir()).default()
    assert default is not None and default.path == second and not default.built_in


def test_a_chosen_model_outside_the_cache_is_listed_too(
    cache: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    elsewhere = add_model(tmp_path / "adapted", tiny_model_dir, "Adapted")
    names = [e.name for e in ModelRegistry(elsewhere).models()]
    assert names == ["Adapted"]
    assert [e.name for e in ModelRegistry().models()] == []


def test_the_bundled_model_is_the_built_in_one_and_cannot_be_removed(
    cache: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    add_model(cache, tiny_model_dir, "Cached default", is_default=True)
    bundled = add_model(tmp_path / "bundle", tiny_model_dir, "Vendor's choice")
    found = find_default_model()
    assert found is not None and found.path == bundled, "the installer's model wins"
    entry = next(e for e in ModelRegistry().models() if e.bundled)
    assert entry.built_in and not entry.removable
    with pytest.raises(ModelRemovalError, match="comes with Draftsmith"):
        ModelRegistry().remove(entry, in_use=None, confirmed=True)
    assert (bundled / MANIFEST_NAME).is_file()


def test_remove_refuses_the_model_in_use_until_confirmed(cache: Path, tiny_model_dir: Path) -> None:
    add_model(cache, tiny_model_dir, "Built-in", is_default=True)
    mine = add_model(cache, tiny_model_dir, "Mine")
    speed_file(mine).write_text("{}", encoding="utf-8")
    registry = ModelRegistry(mine)
    entry = registry.find(mine)
    assert entry is not None and entry.removable

    with pytest.raises(ModelInUseError, match="answering in the editor"):
        registry.remove(entry, in_use=mine)
    assert (mine / MANIFEST_NAME).is_file(), "nothing removed without the writer's yes"

    registry.remove(entry, in_use=mine, confirmed=True)
    assert not mine.exists() and not speed_file(mine).exists()
    assert [p.name for p in cache.iterdir()] == ["Built-in"]
    assert [e.name for e in ModelRegistry().models()] == ["Built-in"]
    built_in = next(e for e in ModelRegistry().models())
    with pytest.raises(ModelRemovalError, match="comes with Draftsmith"):
        registry.remove(built_in, in_use=None, confirmed=True)


def test_a_model_not_in_use_is_removed_without_a_question(
    cache: Path, tiny_model_dir: Path
) -> None:
    add_model(cache, tiny_model_dir, "Built-in", is_default=True)
    other = add_model(cache, tiny_model_dir, "Other")
    entry = ModelRegistry().find(other)
    assert entry is not None
    ModelRegistry().remove(entry, in_use=cache / "Built-in")
    assert not other.exists()


def test_speed_is_measured_here_and_kept_beside_the_model_not_in_it(
    cache: Path, tiny_model_dir: Path
) -> None:
    mine = add_model(cache, tiny_model_dir, "Mine")
    before = {p.name: p.read_bytes() for p in mine.iterdir()}
    record = measure_speed(mine, device="cpu", tokens=8)
    assert record.tokens_per_second > 0 and record.device.startswith("CPU")
    assert {p.name: p.read_bytes() for p in mine.iterdir()} == before, "model folder untouched"
    assert speed_file(mine).parent == cache
    entry = ModelRegistry().find(mine)
    assert entry is not None and entry.speed == record

    # A rebuilt model (other files) does not inherit the old figure.
    manifest = json.loads((mine / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["files"]["tokenizer.json"] = "0" * 64
    (mine / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    entry = ModelRegistry().find(mine)
    assert entry is None or read_speed(entry.folder) is None
    speed_file(mine).write_text("not json", encoding="utf-8")
    assert ModelRegistry().models()[0].speed is None


def test_speed_is_measured_one_token_per_run(
    cache: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drafted tokens would make the figure depend on the speed prompt's repetitions."""
    from inference.runtime.generation import Generator

    drafting: list[bool] = []
    generate = Generator.generate

    def spy(self: Generator, *args: object, **kwargs: object) -> object:
        drafting.append(self.lookup_drafts)
        return generate(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Generator, "generate", spy)
    measure_speed(add_model(cache, tiny_model_dir, "Mine"), device="cpu", tokens=8)
    assert drafting == [False]


def test_missing_model_tools_are_named_with_how_to_get_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert model_tools_missing() == "", "this checkout has the export extra installed"
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorflow" else real(name)
    )
    message = model_tools_missing()
    assert "tensorflow is not installed" in message
    assert "pip install 'draftsmith[export]'" in message

    monkeypatch.setattr(sys, "frozen", True, raising=False)  # the installed app
    message = model_tools_missing()
    assert "cannot build models" in message and "draftsmith-model build" in message


def test_the_built_folder_is_read_from_the_build_output(tmp_path: Path) -> None:
    assert built_path_from_output("Reading GGUF…\nBuilt /c/ab-p1 in 12 s\n  check: ok") == Path(
        "/c/ab-p1"
    )
    assert built_path_from_output("Already built: /c/ab-p1") == Path("/c/ab-p1")
    assert built_path_from_output("draftsmith-model: no such file") is None


def test_a_model_linked_into_the_cache_loses_its_link_not_its_files(
    cache: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    target = add_model(tmp_path / "elsewhere", tiny_model_dir, "Linked")
    (cache / "Linked").symlink_to(target, target_is_directory=True)
    entry = ModelRegistry().find(cache / "Linked")
    assert entry is not None and entry.name == "Linked"
    ModelRegistry().remove(entry, in_use=None)
    assert list(cache.iterdir()) == [] and (target / MANIFEST_NAME).is_file()


def test_without_a_default_build_the_newest_model_answers_and_stays_removable(
    cache: Path, tiny_model_dir: Path
) -> None:
    older = add_model(cache, tiny_model_dir, "Older")
    newer = add_model(cache, tiny_model_dir, "Newer")
    os.utime(older, (1_000_000, 1_000_000))
    registry = ModelRegistry()
    default = registry.default()
    assert default is not None and default.path == newer
    assert default.fallback and not default.built_in and default.removable
    assert registry.setting_for(default) == str(newer), "an added model is saved by its folder"
