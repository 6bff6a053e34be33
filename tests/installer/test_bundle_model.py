"""The bundled model is a build choice: ``make dist-linux MODEL=DIR`` (DRAFTSMITH_BUNDLE_MODEL)
stages that built folder — its 4-bit variant only, checksums checked, read-only — the
installer's notice names that model and its license, and the installed app uses it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import onnxruntime
import pytest

from inference.model_folder import MANIFEST_NAME, find_default_model
from installer.bundle_model import BundleModelError, bundled_model, model_notice, stage_model
from installer.linux.package import model_line


def test_the_chosen_model_folder_is_staged_and_named_in_the_notice(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vendor = tmp_path / "vendor-model"
    shutil.copytree(tiny_model_dir, vendor)
    manifest = json.loads((vendor / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["source"]["metadata"] = {"license": "apache-2.0", "organization": "Qwen"}
    (vendor / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setenv("DRAFTSMITH_BUNDLE_MODEL", str(vendor))

    bundle = tmp_path / "dist" / "draftsmith"
    staged = stage_model(bundle / "_internal" / "inference" / "bundled_models")
    assert sorted(p.name for p in staged.iterdir()) == [
        MANIFEST_NAME,
        "model.q4.onnx",
        "model.q4.onnx.data",  # the weights beside the graph: without them it cannot load
        "tokenizer.json",
    ]
    onnxruntime.InferenceSession(str(staged / "model.q4.onnx"))  # the graph finds its weights
    folder = bundled_model(bundle)
    assert folder is not None and folder.path == staged
    assert list(folder.variants) == ["q4"]
    folder.verify()
    assert model_notice(folder) == "Bundled model: Tiny Llama (test) (apache-2.0, Qwen)."
    assert model_line(bundle) == model_notice(folder)
    assert model_line(tmp_path / "empty") == "No model is bundled."

    # The installed app's default is the bundled model, even over a default build in the cache.
    monkeypatch.setattr("inference.model_cache.bundled_models_dir", lambda: staged.parent)
    cache = tmp_path / "cache"
    shutil.copytree(tiny_model_dir, cache / "default-build")
    monkeypatch.setenv("DRAFTSMITH_MODEL_CACHE", str(cache))
    found = find_default_model()
    assert found is not None and found.path == staged


def test_a_folder_that_is_not_a_built_model_is_refused_in_plain_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "model.gguf").write_bytes(b"GGUF")
    monkeypatch.setenv("DRAFTSMITH_BUNDLE_MODEL", str(tmp_path / "downloads"))
    with pytest.raises(BundleModelError, match="must be a model folder built by"):
        stage_model(tmp_path / "stage")
    assert not (tmp_path / "stage").exists()
