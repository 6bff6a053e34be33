"""``draftsmith generate`` / ``draftsmith devices``: output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.cli import main
from inference.runtime.cli import EXIT_NO_DEVICE, EXIT_NO_MODEL, EXIT_OK, EXIT_USAGE
from inference.runtime.providers import cuda_device_name

DRAFT = "The lighthouse keeper climbed the stairs. She lit the lamp and waited."


@pytest.fixture
def draft(tmp_path: Path) -> Path:
    path = tmp_path / "draft.md"
    path.write_text(DRAFT, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_generate_streams_text_and_exits_zero(
    capsys: pytest.CaptureFixture[str], draft: Path, runtime_model_dir: Path
) -> None:
    code, out, err = run(
        capsys,
        "generate",
        "--file",
        str(draft),
        "--model",
        str(runtime_model_dir),
        "--max-tokens",
        "8",
        "--temperature",
        "0",
        "--device",
        "cpu",
    )
    assert code == EXIT_OK, err
    assert out.strip()


def test_generate_json_has_result_and_timings(
    capsys: pytest.CaptureFixture[str], draft: Path, runtime_model_dir: Path
) -> None:
    code, out, _ = run(
        capsys,
        "generate",
        "--task",
        "continue",
        "--file",
        str(draft),
        "--model",
        str(runtime_model_dir),
        "--max-tokens",
        "6",
        "--json",
        "--seed",
        "3",
    )
    assert code == EXIT_OK
    data = json.loads(out)
    assert data["task"] == "continue" and isinstance(data["text"], str)
    assert data["stop_reason"] in {"max_tokens", "end_token", "stop_string"}  # the plain value
    assert data["timings"]["generated_tokens"] >= 1
    assert data["timings"]["time_to_first_token_seconds"] > 0
    assert data["device"]["provider"]


def test_no_drafts_writes_one_token_per_run(
    capsys: pytest.CaptureFixture[str], draft: Path, runtime_model_dir: Path
) -> None:
    common = ["generate", "--file", str(draft), "--model", str(runtime_model_dir)]
    common += ["--max-tokens", "40", "--temperature", "0", "--json", "--device", "cpu"]
    results = []
    for extra in ([], ["--no-drafts"]):
        code, out, err = run(capsys, *common, *extra)
        assert code == EXIT_OK, err
        results.append(json.loads(out))
    drafted, stepped = (r["timings"] for r in results)
    assert drafted["accepted_draft_tokens"] > 0  # the tiny model's text loops: guessable
    assert stepped["drafted_tokens"] == stepped["accepted_draft_tokens"] == 0
    assert results[0]["text"] == results[1]["text"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.write_bytes(b"caf\xe9 au lait"), "not UTF-8"),
        (lambda p: p.write_text("", encoding="utf-8"), "no text before the cursor"),
        (lambda p: p.mkdir(), "is a folder"),
    ],
)
def test_bad_input_files_exit_2_with_a_message(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    setup: object,
    message: str,
    runtime_model_dir: Path,
) -> None:
    path = tmp_path / "input.md"
    setup(path)  # type: ignore[operator]
    code, out, err = run(capsys, "generate", "--file", str(path), "--model", str(runtime_model_dir))
    assert code == EXIT_USAGE
    assert message in err and out == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-tokens", "0"], "at least 1"),
        (["--temperature", "-0.5"], "cannot be negative"),
        (["--task", "poem"], "Unknown task"),
        (["--task", "tone", "--tone", "grumpy"], "Unknown tone"),
    ],
)
def test_bad_options_exit_2(
    capsys: pytest.CaptureFixture[str],
    draft: Path,
    runtime_model_dir: Path,
    args: list[str],
    message: str,
) -> None:
    code, _, err = run(
        capsys, "generate", "--file", str(draft), "--model", str(runtime_model_dir), *args
    )
    assert code == EXIT_USAGE and message in err


def test_huge_max_tokens_is_lowered_with_a_note(
    capsys: pytest.CaptureFixture[str], draft: Path, runtime_model_dir: Path
) -> None:
    code, _, err = run(
        capsys,
        "generate",
        "--file",
        str(draft),
        "--model",
        str(runtime_model_dir),
        "--max-tokens",
        "1000000",
        "--json",
    )
    assert code == EXIT_OK and "lowered" in err


def test_missing_model_exits_3(
    capsys: pytest.CaptureFixture[str], draft: Path, tmp_path: Path
) -> None:
    code, _, err = run(
        capsys, "generate", "--file", str(draft), "--model", str(tmp_path / "no-model")
    )
    assert code == EXIT_NO_MODEL and "draftsmith-model build" in err


@pytest.mark.skipif(bool(cuda_device_name()), reason="this machine has a usable NVIDIA GPU")
def test_forced_cuda_without_gpu_exits_4(
    capsys: pytest.CaptureFixture[str], draft: Path, runtime_model_dir: Path
) -> None:
    code, _, err = run(
        capsys,
        "generate",
        "--file",
        str(draft),
        "--model",
        str(runtime_model_dir),
        "--device",
        "cuda",
    )
    assert code == EXIT_NO_DEVICE and "cannot be used" in err
    code, _, err = run(capsys, "devices", "--device", "cuda")
    assert code == EXIT_NO_DEVICE


def test_devices_prints_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "devices")
    assert code == EXIT_OK and out.startswith("Running on: ")
    code, out, _ = run(capsys, "devices", "--json")
    assert code == EXIT_OK and json.loads(out)["provider"]


def test_the_installed_command_reads_stdin_and_streams(runtime_model_dir: Path) -> None:
    """The real console entry point, as a shell user runs it."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "desktop.cli",
            "generate",
            "--file",
            "-",
            "--model",
            str(runtime_model_dir),
            "--max-tokens",
            "5",
            "--temperature",
            "0",
        ],
        input=DRAFT.encode(),
        capture_output=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode("utf-8").strip()
    missing = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "generate", "--file", "/nonexistent/draft.md"],
        capture_output=True,
        timeout=120,
    )
    assert missing.returncode == EXIT_USAGE
    assert b"does not exist" in missing.stderr


def test_generate_json_includes_the_answer_check_and_warns_on_failure(
    capsys: pytest.CaptureFixture[str], draft: Path, runtime_model_dir: Path
) -> None:
    code, out, err = run(
        capsys,
        "generate",
        "--task",
        "rewrite",
        "--file",
        str(draft),
        "--model",
        str(runtime_model_dir),
        "--max-tokens",
        "12",
        "--json",
        "--seed",
        "3",
        "--device",
        "cpu",
    )
    assert code == EXIT_OK, err
    check = json.loads(out)["check"]
    assert set(check) == {"passed", "reasons", "method", "attempts"}
    if not check["passed"]:  # the tiny random model writes nonsense
        assert check["reasons"] and "failed its check" in err
