"""onnxruntime's telemetry is off in every Draftsmith process, whatever the shell says, because
``inference`` sets it before onnxruntime can load (``inference/process_environment.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_python(home: Path, code: str, **extra_env: str) -> str:
    """``python -c CODE`` as a new user: a fresh home, nothing inherited (onnxruntime stays
    quiet by itself under CI variables, which would hide its telemetry)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    env |= {"PYTHONPATH": str(ROOT), "LANG": "C.UTF-8", **extra_env}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    "module",
    ["inference.runtime", "inference.export.checks"],
    ids=["runtime (app, draftsmith generate)", "export (draftsmith-model, the build)"],
)
def test_loading_onnxruntime_leaves_no_telemetry_identifier_even_if_the_shell_asks(
    tmp_path: Path, module: str
) -> None:
    code = (
        f"import os, {module}, onnxruntime as ort\n"
        "ort.InferenceSession  # loaded\n"
        "print(os.environ['ORT_DISABLE_TELEMETRY'])"
    )
    home = tmp_path / "home"
    home.mkdir()
    shown = run_python(home, code, ORT_DISABLE_TELEMETRY="0")
    assert shown == "1"
    assert not (home / ".cache" / "Microsoft").exists()
    assert list(home.rglob("*")) == [], "nothing written to the home folder at all"


def test_subprocesses_inherit_the_setting(tmp_path: Path) -> None:
    """The model-build subprocess the app starts gets the variable even before its import."""
    code = (
        "import subprocess, sys, inference\n"
        "print(subprocess.run([sys.executable, '-c', "
        "'import os; print(os.environ[\"ORT_DISABLE_TELEMETRY\"])'], "
        "capture_output=True, text=True).stdout.strip())"
    )
    assert run_python(tmp_path, code) == "1"


def test_the_model_build_keeps_keras_settings_in_draftsmiths_cache(tmp_path: Path) -> None:
    """Keras writes ``keras.json`` on first import, and a writer's own file (another backend)
    would change the build: both stay out of ``~/.keras``."""
    home = tmp_path / "home"
    (home / ".keras").mkdir(parents=True)
    (home / ".keras" / "keras.json").write_text('{"floatx": "float16"}', encoding="utf-8")
    code = "import inference.export.keras_llama, keras; print(keras.config.floatx())"
    assert run_python(home, code, KERAS_BACKEND="jax") == "float32"
    assert sorted(p.name for p in (home / ".keras").iterdir()) == ["keras.json"]
    assert (home / ".cache" / "Draftsmith" / "keras" / "keras.json").is_file()
