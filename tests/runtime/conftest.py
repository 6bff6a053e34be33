"""Fixtures for the runtime tests: the tiny model (real export path) and a loaded model."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.runtime import LocalModel, RuntimeSettings


@pytest.fixture(scope="session")
def runtime_model_dir(tiny_model_dir: Path) -> Path:
    """The tiny random Llama built through GGUF -> Keras -> tf2onnx -> fused ONNX."""
    return Path(tiny_model_dir)


def load(model_dir: Path, **settings: object) -> LocalModel:
    """The model at ``model_dir`` on the CPU, one thread, with ``settings`` on top."""
    return LocalModel.load(model_dir, RuntimeSettings(device="cpu", threads=1, **settings))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def tiny_model(runtime_model_dir: Path) -> LocalModel:
    return load(runtime_model_dir)
