"""Help > About names the version from pyproject.toml and the model with its checksum."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from desktop.about import about_text, model_line
from inference.model_folder import ModelFolder

REPO = Path(__file__).resolve().parents[2]


def test_version_is_pyproject_version() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]
    assert about_text().startswith(f"Draftsmith {version} ")


def test_model_line_names_model_variant_and_checksum(tmp_path: Path) -> None:
    checksum = "5cc323913f7f098bdd0ae239813091055ff79a9d4f1232947866aa974b4a3f12"
    architecture = dict(
        type="llama", num_layers=1, hidden_size=8, num_heads=1, num_kv_heads=1, head_dim=8,
        intermediate_size=8, vocab_size=8, rope_theta=1.0, rms_norm_eps=1e-5,
    )  # fmt: skip
    folder = ModelFolder(
        tmp_path,
        {
            "name": "SmolLM2 135M",
            "architecture": architecture,
            "context_length": 64,
            "special_tokens": {},
            "variants": {"q4": {"file": "model.q4.onnx"}},
            "default_variant": "q4",
            "files": {"model.q4.onnx": checksum},
        },
    )
    assert model_line(folder) == "AI model: SmolLM2 135M (q4), sha256 5cc323913f7f098b"


def test_no_model_is_said_plainly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DRAFTSMITH_MODEL_CACHE", str(tmp_path / "empty"))
    monkeypatch.setattr("inference.model_cache.bundled_models_dir", lambda: tmp_path / "none")
    assert model_line() == "AI model: none installed"
