"""Every test runs with its config, data, cache and state directories inside ``tmp_path``
and a fresh in-memory keyring. Built models are the exception: they live in the real
model cache (content-addressed, built once per machine) so the suite does not rebuild them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Resolve the machine's model cache before any test redirects the XDG directories.
from inference.model_cache import model_cache_root

os.environ["DRAFTSMITH_MODEL_CACHE"] = str(model_cache_root())

from tests.keyring_memory import MemoryKeyring


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path) -> Iterator[dict[str, Path]]:
    """Its own MonkeyPatch, not the test's: a test calling ``monkeypatch.undo()`` to drop its
    own patches would otherwise send the rest of it to the real home folders (a licensing
    test did, and wrote a trial state there that later runs read back)."""
    dirs = {}
    for name in ("config", "data", "cache", "state", "documents"):
        path = tmp_path / "user" / name
        path.mkdir(parents=True)
        dirs[name] = path
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(dirs["config"]))
        patch.setenv("XDG_DATA_HOME", str(dirs["data"]))
        patch.setenv("XDG_CACHE_HOME", str(dirs["cache"]))
        patch.setenv("XDG_STATE_HOME", str(dirs["state"]))
        patch.setenv("XDG_DOCUMENTS_DIR", str(dirs["documents"]))
        yield dirs


@pytest.fixture(autouse=True)
def memory_keyring() -> MemoryKeyring:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-layer random Llama GGUF (Q4_1 linears, Q8_0 embedding, tiny BPE vocabulary)."""
    from tests.tiny_model import write_tiny_gguf

    return write_tiny_gguf(tmp_path_factory.mktemp("tiny-gguf") / "tiny.gguf")


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder built from ``tiny_gguf`` through the real export path (seconds)."""
    from inference.export.build import build

    return build(tiny_gguf, cache_root=tmp_path_factory.mktemp("tiny-models")).path


@pytest.fixture(scope="session")
def default_model_dir() -> Path:
    """The real default model, built once per machine into the model cache (`make test`
    builds it before the suite starts, so here it is found instantly)."""
    from inference.export.build import build

    return build().path


# -- perf: wall-clock goals report instead of flaking (see tests/perf.py) --------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    from tests.perf import SlowerThanExpected, strict

    outcome = yield
    report = outcome.get_result()
    slow = call.excinfo is not None and call.excinfo.errisinstance(SlowerThanExpected)
    if slow and report.failed and item.get_closest_marker("perf") and not strict():
        report.outcome = "skipped"
        report.wasxfail = f"perf: {call.excinfo.value}"


def pytest_terminal_summary(terminalreporter: object) -> None:
    from tests.perf import FIGURES

    if FIGURES:
        terminalreporter.section("performance figures")  # type: ignore[attr-defined]
        for figure in FIGURES:
            terminalreporter.write_line(str(figure))  # type: ignore[attr-defined]
