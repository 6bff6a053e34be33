"""Smoke tests on the real default model (SmolLM2-135M-Instruct, built into the cache)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.runtime import GenerationRequest, LocalModel, RuntimeSettings, SamplingSettings
from inference.runtime.tasks import Task
from tests.perf import expect_fast
from tests.runtime.cancel_probe import CancelProbe

pytestmark = pytest.mark.default_model

GREEDY = SamplingSettings(temperature=0, repetition_penalty=1.1)
PASSAGE = (
    "The lighthouse at Carrow Point had not been lit in eleven years when Maren Holt "
    "arrived with two suitcases and a crate of books. She spent the first week cleaning "
    "salt from the brass rails and the hinges of the lamp room."
)
DOCUMENT = "\n\n".join([PASSAGE] * 8)
MARKERS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|", "|>")


@pytest.fixture(scope="module")
def model(default_model_dir: Path) -> LocalModel:
    return LocalModel.load(default_model_dir, RuntimeSettings(device="cpu"))


@pytest.mark.parametrize("task", list(Task))
def test_each_task_returns_clean_text(model: LocalModel, task: Task) -> None:
    request = GenerationRequest(
        task, before=PASSAGE, selection=PASSAGE, tone="formal", max_new_tokens=40, sampling=GREEDY
    )
    result = model.run(request)
    assert result.text.strip(), result.raw_text
    assert not any(marker in result.text for marker in MARKERS)
    if task is Task.CONTINUE:
        assert result.text[0] in " \n"  # the passage ends with "." and no space


def test_continue_at_temperature_zero_is_reproducible(
    model: LocalModel, default_model_dir: Path
) -> None:
    request = GenerationRequest("continue", before=PASSAGE, max_new_tokens=24, sampling=GREEDY)
    first = model.run(request).text
    fresh = LocalModel.load(default_model_dir, RuntimeSettings(device="cpu")).run(request).text
    assert first and first == fresh


@pytest.mark.perf
def test_prompt_cache_is_faster_and_gives_the_same_tokens(
    model: LocalModel, default_model_dir: Path
) -> None:
    model.generator.clear_cache()
    model.run(GenerationRequest("continue", before=DOCUMENT, max_new_tokens=8, sampling=GREEDY))
    cold_stats = model.last_stats
    typed = GenerationRequest(
        "continue",
        before=DOCUMENT + " The fog came in at midnight.",
        max_new_tokens=16,
        sampling=GREEDY,
    )
    warm = model.run(typed)
    cold = LocalModel.load(default_model_dir, RuntimeSettings(device="cpu")).run(typed)
    assert cold_stats is not None
    assert warm.stats.reused_tokens > 0.9 * cold_stats.prompt_tokens
    assert warm.raw_text == cold.raw_text
    expect_fast(
        warm.stats.first_token_seconds,
        cold.stats.first_token_seconds / 3,
        "first token with the prompt cache (goal: a third of cold)",
    )


def test_cancel_stops_the_real_model_within_one_step(model: LocalModel) -> None:
    with CancelProbe(model, after_pieces=2) as probe:
        result = model.run(
            GenerationRequest("expand", selection=PASSAGE, max_new_tokens=300),
            on_text=probe.on_text,
            cancel=probe.cancel,
        )
    assert result.cancelled
    assert probe.steps_after_cancel <= 1


def test_device_report_and_speed_are_known_after_a_run(model: LocalModel) -> None:
    model.run(GenerationRequest("continue", before=PASSAGE, max_new_tokens=16, sampling=GREEDY))
    assert model.device_report.label()
    assert model.tokens_per_second > 0


def test_ctrl_c_stops_the_command_within_a_token_and_exits_130(
    default_model_dir: Path, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    draft = tmp_path / "draft.md"
    draft.write_text(PASSAGE, encoding="utf-8")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "desktop.cli",
            "generate",
            "--task",
            "expand",
            "--file",
            str(draft),
            "--model",
            str(default_model_dir),
            "--max-tokens",
            "1000",
            "--device",
            "cpu",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.read(1)  # the answer has started streaming
        assert first
        interrupted = time.perf_counter()
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
        elapsed = time.perf_counter() - interrupted
    finally:
        process.kill()
    assert code == 130
    assert elapsed < 5  # one decode step is ~20 ms; process exit adds the rest
