"""Variants too large for one protobuf message (> 2 GB: a 1B model's fp32, a 3B model's
q4) keep their weights in a ``.data`` file beside the graph. The tiny model is built with
the threshold at zero so every variant takes that path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.export import build as build_module
from inference.export.build import build
from inference.export.checks import OnnxDecoder
from inference.model_folder import ModelFolder, ModelFolderError


@pytest.fixture
def external_model(tiny_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(build_module, "EXTERNAL_DATA_BYTES", 0)
    return build(tiny_gguf, cache_root=tmp_path / "cache").path


def test_weights_beside_the_graph_load_verify_and_agree(
    external_model: Path, tiny_model_dir: Path
) -> None:
    folder = ModelFolder.open(external_model)
    folder.verify()
    for variant in ("q4", "fp32"):
        data = folder.variants[variant]["data"]
        assert (external_model / data).stat().st_size > folder.variant_path(variant).stat().st_size
        assert data in folder.files
    # Same numbers as the ordinary build of the same file.
    ids = [5, 17, 40, 3, 99, 12]
    ordinary = ModelFolder.open(tiny_model_dir)
    for variant in ("q4", "fp32"):
        ours = OnnxDecoder(folder.variant_path(variant), folder.architecture)
        theirs = OnnxDecoder(ordinary.variant_path(variant), ordinary.architecture)
        np.testing.assert_array_equal(
            ours.logits_at_every_position(ids), theirs.logits_at_every_position(ids)
        )


def test_damaged_weights_file_is_reported(external_model: Path) -> None:
    folder = ModelFolder.open(external_model)
    data = external_model / folder.variants["q4"]["data"]
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    with pytest.raises(ModelFolderError, match="damaged"):
        folder.verify("q4")


def test_an_unrequested_reference_leaves_no_weights_file(
    tiny_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build_module, "EXTERNAL_DATA_BYTES", 0)
    path = build(tiny_gguf, cache_root=tmp_path / "cache", variants=("q4",)).path
    assert sorted(p.name for p in path.iterdir() if "fp32" in p.name) == []
