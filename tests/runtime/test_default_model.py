"""Smoke tests on the real default model (SmolLM2-135M-Instruct, built into the cache)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from inference.runtime import GenerationRequest, LocalModel, RuntimeSettings, SamplingSettings
from inference.runtime.stop_reason import StopReason
from inference.runtime.tasks import Task
from tests.perf import expect_fast
from tests.runtime.cancel_probe import CancelProbe

pytestmark = pytest.mark.default_model

GREEDY = SamplingSettings(temperature=0, repetition_penalty=1.1)


def sampled(seed: int) -> SamplingSettings:
    """Sampled as a suggestion is, reproducibly."""
    return SamplingSettings(temperature=0.7, top_p=0.9, seed=seed)


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
    # Same request, same cache state: the same text. (A prompt partly served from the cache
    # sums attention in another order; a near-tie of greedy decoding can then flip a later
    # token, so a warm run is compared token for token only in the prompt-cache test below.)
    model.generator.clear_cache()
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


# -- answers a writer can trust (issue 11) ---------------------------------------------
# Passages written for these tests only (not the benchmark's development set).
ENDINGS = [
    (
        "The bus from Ostrava was forty minutes late, and Hana Blaha had read the same page "
        "of her book six times. When it finally pulled in, the driver apologised to nobody "
        "and the passengers climbed aboard in silence.",
        "Characters: Hana Blaha. Place: Ostrava bus station.",
    ),
    (
        "Our new returns process starts on Monday. Customers print a label from their "
        "account page, drop the parcel at any post office and receive a refund within five "
        "working days of it arriving at the warehouse in Leeds.",
        "Company: Fernhill Outdoor. Warehouse in Leeds.",
    ),
    (
        "My aunt Rosalind never learned to drive, so she walked everywhere with a wicker "
        "basket on her arm. She knew every shortcut in Whitby and every dog by name, and "
        "the dogs, I think, knew her better than the people did.",
        "Narrator: first person. Aunt Rosalind. Town: Whitby.",
    ),
]


@pytest.mark.parametrize(("text", "notes"), ENDINGS)
def test_continue_at_the_end_of_a_paragraph_writes_the_next_one(
    model: LocalModel, text: str, notes: str
) -> None:
    shown: list[str] = []
    restarts: list[str] = []
    result = model.run(
        GenerationRequest(
            "continue",
            before=text,
            notes=notes,
            sampling=sampled(11),
        ),
        on_text=shown.append,
        on_restart=lambda reason: (restarts.append(reason), shown.clear()),
    )
    assert result.text.startswith("\n\n")
    assert result.text.strip(), "the paragraph break must not end the answer before it starts"
    assert result.check.passed, result.check.reasons
    # What streamed, or its full sentences when the token limit cut it off.
    assert "".join(shown).rstrip().startswith(result.text)


def test_the_next_paragraph_begins_with_words_not_a_list_or_a_date(model: LocalModel) -> None:
    """A paragraph break at the very end of a text is a token of its own, which the model's
    training text follows with digits or more blank lines; before a word the break is two
    line-break tokens. Ending the prompt with the first made nearly every next paragraph a
    numbered item or a date ("21. An old lady…", "1950s: The British…")."""
    codec = model.codec
    starts = []
    for text, notes in ENDINGS:
        plan = model.plan(GenerationRequest("continue", before=text))
        as_in_running_text = codec.encode(text + "\n\nShe")[:-1]  # "She": one token
        assert plan.token_ids[-len(as_in_running_text) :] == as_in_running_text
        for seed in (1, 2, 3):
            result = model.run(
                GenerationRequest(
                    "continue",
                    before=text,
                    notes=notes,
                    max_new_tokens=12,
                    sampling=sampled(seed),
                )
            )
            starts.append(result.text.lstrip()[:1])
    worded = [start for start in starts if start.isalpha() or start in "\"“‘'"]
    assert len(worded) >= 7, starts


def test_a_suggestion_cut_off_by_its_length_ends_with_a_full_sentence(model: LocalModel) -> None:
    """Ghost text is the continuation; at its token limit it used to stop mid-clause ("…and
    landed on a"), and Tab put the half sentence into the manuscript."""
    cut_off = []
    for text, notes in ENDINGS:
        for seed in (1, 2, 3, 4):
            result = model.run(
                GenerationRequest(
                    "continue",
                    before=text.rstrip(".") + " and",
                    notes=notes,
                    max_new_tokens=30,
                    sampling=sampled(seed),
                )
            )
            if result.stop_reason is StopReason.MAX_TOKENS:
                cut_off.append(result.text)
    assert len(cut_off) >= 3, cut_off

    def kept_whole(text: str) -> bool:
        sentence_ends = list(re.finditer(r"[.!?…][\"”’)]*(?=\s|$)", text))
        # No full sentence, or too few words before the last one: the clause is kept.
        return not sentence_ends or len(text[: sentence_ends[-1].end()].split()) < 4

    assert all(text.rstrip()[-1] in '.!?…"”’)' or kept_whole(text) for text in cut_off), cut_off


def test_expand_is_the_writers_text_and_more_without_a_discarded_first_answer(
    model: LocalModel,
) -> None:
    """The worked-example prompt was measured never to pass first for this model (0 of 42),
    so every Expand showed "Writing it again…" before its real answer."""
    assert model.expand_continues_first
    text, notes = ENDINGS[0]
    restarts: list[str] = []
    result = model.run(
        GenerationRequest(
            "expand",
            selection=text,
            notes=notes,
            sampling=sampled(5),
        ),
        on_restart=restarts.append,
    )
    assert result.text.startswith(text) and result.check.passed, result.check.reasons
    assert result.check.attempts == 1, restarts


def test_brainstorm_ideas_come_out_distinct_at_the_first_try(model: LocalModel) -> None:
    """A list of ideas repeated itself at the instruction defaults: its first answer passed
    11 % of the time (84 runs), so most Brainstorms were written two or three times."""
    from dataclasses import replace

    from inference.runtime.tasks import default_sampling

    first_tries = []
    for text, notes in ENDINGS:
        for seed in (1, 2, 3):
            sampling = replace(default_sampling(Task.BRAINSTORM), seed=seed)
            request = GenerationRequest(
                "brainstorm", selection=text, notes=notes, sampling=sampling
            )
            first_tries.append(model.run(request).check.attempts == 1)
    assert sum(first_tries) >= 5, first_tries


def test_a_description_stays_on_its_subject_at_the_first_try(model: LocalModel) -> None:
    """Describe's worked examples never named their subject, and the model wandered off it
    (a first answer passed 36 % of the time in 84 runs: strangers with "bright red eyes", the
    examples' own night market); its examples now name it, as a description of it would."""
    from dataclasses import replace

    from inference.runtime.tasks import default_sampling

    subjects = [
        "a wicker basket",
        "the bus station in Ostrava at night",
        "Hana Blaha waited for the bus from Ostrava.",
        "My aunt Rosalind walked everywhere with a basket on her arm.",
    ]
    first_tries = []
    for subject in subjects:
        for seed in (1, 2, 3):
            sampling = replace(default_sampling(Task.DESCRIBE), seed=seed)
            result = model.run(GenerationRequest("describe", selection=subject, sampling=sampling))
            first_tries.append(result.check.attempts == 1)
    assert sum(first_tries) >= 8, first_tries


@pytest.mark.parametrize(("text", "notes"), ENDINGS)
def test_shorten_is_shorter_or_marked(model: LocalModel, text: str, notes: str) -> None:
    result = model.run(
        GenerationRequest(
            "shorten",
            selection=text,
            notes=notes,
            sampling=SamplingSettings(
                temperature=0.3, top_k=40, top_p=0.9, min_p=0.05, repetition_penalty=1.05, seed=3
            ),
        )
    )
    words, source = len(result.text.split()), len(text.split())
    assert result.check.passed  # validators + the extractive fallback make this a guarantee
    assert words <= 0.75 * source, result.text


@pytest.mark.parametrize("task", ["rewrite", "tone", "describe", "expand"])
def test_no_leak_or_talk_about_the_text_passes_unmarked(model: LocalModel, task: str) -> None:
    from inference.runtime.few_shot import all_example_texts

    text, notes = ENDINGS[2]
    result = model.run(
        GenerationRequest(
            task,
            selection=text if task != "describe" else "a wicker basket",
            notes=notes,
            tone="formal",
            sampling=SamplingSettings(temperature=0.4, seed=7),
        )
    )
    lowered = result.text.lower()
    leaked = [
        phrase
        for phrase in ("the text", "the passage", "rewrite", "the writer's notes", "dear ")
        if phrase in lowered and phrase not in text.lower()
    ] + [e for e in all_example_texts() if e.lower()[:40] in lowered]
    if leaked:
        assert not result.check.passed, (leaked, result.text)
