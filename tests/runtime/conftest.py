"""Fixtures for the runtime tests: a model folder and a loaded ``LocalModel`` on it.

``runtime_model_dir`` is the shared ``tiny_model_dir`` (a tiny random Llama built by the real
export path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.runtime import LocalModel, RuntimeSettings


@pytest.fixture(scope="session")
def runtime_model_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                      ) -> Path:
    try:
        return Path(request.getfixturevalue("tiny_model_dir"))
    except pytest.FixtureLookupError:
        # Until the export pipeline's fixture lands: a stand-in with the same I/O contract.
        from tests.runtime.stand_in_model import build_stand_in_model

        return build_stand_in_model(tmp_path_factory.mktemp("stand-in-model"))


@pytest.fixture(scope="module")
def tiny_model(runtime_model_dir: Path) -> LocalModel:
    return LocalModel.load(runtime_model_dir, RuntimeSettings(device="cpu", threads=1))


@pytest.fixture
def fresh_model(runtime_model_dir: Path) -> LocalModel:
    """A model with an empty prompt cache, for tests that compare cold and warm runs."""
    return LocalModel.load(runtime_model_dir, RuntimeSettings(device="cpu", threads=1))
