"""Fixtures for the runtime tests: the tiny model (real export path) and a loaded model."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.runtime import LocalModel, RuntimeSettings


@pytest.fixture(scope="session")
def runtime_model_dir(tiny_model_dir: Path) -> Path:
    """The tiny random Llama built through GGUF -> Keras -> tf2onnx -> fused ONNX."""
    return Path(tiny_model_dir)


@pytest.fixture(scope="module")
def tiny_model(runtime_model_dir: Path) -> LocalModel:
    return LocalModel.load(runtime_model_dir, RuntimeSettings(device="cpu", threads=1))
