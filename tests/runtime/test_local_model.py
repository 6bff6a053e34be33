"""``LocalModel.run`` checks every answer, retries a failing one and falls back honestly.

The tiny random model writes nonsense, which is exactly what exercises the retry and
fallback paths with a real onnxruntime session."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from inference.runtime import GenerationRequest, LocalModel, SamplingSettings, StopReason, Task
from inference.runtime.answer_check import sentences, word_count
from inference.runtime.extractive import extract
from inference.runtime.local_model import MAX_RETRIES, TASK_RETRIES
from inference.runtime.measured_quality import (
    WEAK_NOTE,
    expand_pattern_first_pass,
    record,
    weak_tasks_for,
)

# Short: the tiny model's context is 256 byte-sized tokens.
TEXT = "Ann rowed out at dawn. The lake was flat. Gulls sat on the pier. She sang."
SAMPLING = SamplingSettings(temperature=0.8, seed=5)


class Recorder:
    """What a caller sees: streamed pieces, restarts, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def text(self, piece: str) -> None:
        self.events.append(("text", piece))

    def restart(self, reason: str) -> None:
        self.events.append(("restart", reason))

    @property
    def restarts(self) -> list[str]:
        return [value for kind, value in self.events if kind == "restart"]

    def shown_after_last_restart(self) -> str:
        last = max((i for i, (kind, _) in enumerate(self.events) if kind == "restart"), default=-1)
        return "".join(v for kind, v in self.events[last + 1 :] if kind == "text")


def test_a_failing_shorten_falls_back_to_the_writers_own_sentences(
    tiny_model: LocalModel,
) -> None:
    seen = Recorder()
    result = tiny_model.run(
        GenerationRequest("shorten", selection=TEXT, sampling=SAMPLING, max_new_tokens=40),
        on_text=seen.text,
        on_restart=seen.restart,
    )
    assert result.check.method == "extractive" and result.check.passed
    assert result.stop_reason is StopReason.EXTRACTIVE
    # One retry, then the writer's sentences: a third try rarely passed and cost time.
    assert TASK_RETRIES[Task.SHORTEN] < MAX_RETRIES
    assert result.check.attempts == 1 + TASK_RETRIES[Task.SHORTEN]
    assert 0 < word_count(result.text) <= 0.75 * word_count(TEXT)
    kept = [s for s in ("Ann rowed out at dawn.", "The lake was flat.", "Gulls sat on the pier.")]
    assert all(part in TEXT for part in result.text.split(". ") if part)
    assert any(sentence in result.text for sentence in kept)
    # The first attempt streamed at once; each retry was announced before it streamed.
    assert seen.events[0][0] == "text"
    assert len(seen.restarts) == 1 + TASK_RETRIES[Task.SHORTEN]
    assert "sentences from your text" in seen.restarts[-1]
    assert seen.shown_after_last_restart() == result.text


def test_a_failing_rewrite_is_returned_marked_with_its_reasons(tiny_model: LocalModel) -> None:
    seen = Recorder()
    result = tiny_model.run(
        GenerationRequest("rewrite", selection=TEXT, sampling=SAMPLING, max_new_tokens=40),
        on_text=seen.text,
        on_restart=seen.restart,
    )
    assert not result.check.passed
    assert result.check.reasons and all(r.endswith(".") for r in result.check.reasons)
    assert result.check.attempts == 1 + MAX_RETRIES
    assert len(seen.restarts) >= MAX_RETRIES
    assert seen.shown_after_last_restart().strip() == result.text.strip()


def test_retries_use_other_settings(tiny_model: LocalModel) -> None:
    seen = Recorder()
    result = tiny_model.run(
        GenerationRequest("describe", selection="a lake", sampling=SAMPLING, max_new_tokens=24),
        on_text=seen.text,
        on_restart=seen.restart,
    )
    texts = "".join(v for kind, v in seen.events if kind == "text")
    assert result.check.attempts >= 2 and len(texts) > len(result.text)


def test_a_cancelled_request_is_not_retried(tiny_model: LocalModel) -> None:
    cancel = threading.Event()
    seen = Recorder()

    def on_text(piece: str) -> None:
        seen.text(piece)
        cancel.set()

    result = tiny_model.run(
        GenerationRequest("rewrite", selection=TEXT, sampling=SAMPLING, max_new_tokens=40),
        on_text=on_text,
        on_restart=seen.restart,
        cancel=cancel,
    )
    assert result.cancelled and seen.restarts == [] and result.check.attempts == 1


def test_continue_with_nothing_usable_says_so(tiny_model: LocalModel) -> None:
    result = tiny_model.run(
        GenerationRequest(
            "continue", before=TEXT, sampling=SamplingSettings(temperature=0), max_new_tokens=6
        )
    )
    assert result.text.startswith("\n\n")  # the end of a paragraph: a new one begins
    if not any(c.isalnum() for c in result.text):
        assert not result.check.passed
        assert result.check.reasons == ("The model wrote nothing usable.",)


def test_every_result_carries_a_check(tiny_model: LocalModel) -> None:
    for task in Task:
        result = tiny_model.run(
            GenerationRequest(
                task,
                before=TEXT,
                selection=TEXT,
                tone="formal",
                sampling=SAMPLING,
                max_new_tokens=12,
            )
        )
        assert result.check.attempts >= 1
        assert result.check.passed or result.check.reasons


def test_sentence_scores_come_from_the_model(tiny_model: LocalModel) -> None:
    units = ["Ann rowed out at dawn.", "The lake was flat.", "qzx vvkw plmf."]
    scores = tiny_model.sentence_scores(units)
    assert len(scores) == 3 and all(s > 0 for s in scores)
    before = list(tiny_model.generator.cache.tokens)
    tiny_model.sentence_scores(units)
    assert tiny_model.generator.cache.tokens == before  # the document's cache is untouched


# -- extractive method, with a stated scorer ---------------------------------------------


def by_length(units: list[str]) -> list[float]:
    return [float(len(u)) for u in units]


def test_extract_keeps_the_best_sentences_in_order_within_the_limit() -> None:
    source = "Short one. A much longer and more informative sentence here. Tiny. Middle one here."
    result = extract(source, 10, by_length)
    assert word_count(result) <= 10
    assert result == "Short one. A much longer and more informative sentence here."


def test_extract_splits_one_long_sentence_into_clauses() -> None:
    source = "The rain fell on the roofs, the dogs hid under the porch, and nobody went out."
    result = extract(source, 8, by_length)
    assert 0 < word_count(result) <= 8
    assert result.split()[0] in source


DIALOGUE = (
    '"Is it biting?" Nell asked. Walt shook his head without looking up. "Fish are thinking '
    'about it. Some of them are philosophers." She sat beside him. "How long do they think '
    'for?" "Depends on the fish," he said.'
)


def test_extract_keeps_the_writers_dialogue_as_written() -> None:
    """Sentences were split before their closing quotes, which were dropped: the extractive
    shorten of a dialogue came out as '"Is it biting? Nell asked. … "How long do they think
    for?' — the writer's punctuation broken."""
    for limit in (6, 12, 20, 30):
        result = extract(DIALOGUE, limit, by_length)
        assert result.count('"') % 2 == 0, result
        assert result.count("?") == result.count('?"'), result  # every question as quoted
        kept = sentences(result)
        assert kept and all(sentence in DIALOGUE for sentence in kept), result
    assert sentences(DIALOGUE) == [
        '"Is it biting?" Nell asked.',
        "Walt shook his head without looking up.",
        '"Fish are thinking about it. Some of them are philosophers."',
        "She sat beside him.",
        '"How long do they think for?"',
        '"Depends on the fish," he said.',
    ]


def test_extract_always_fits_even_a_single_unbreakable_sentence() -> None:
    result = extract("One two three four five six seven eight nine ten.", 4, by_length)
    assert word_count(result) <= 4 and result.startswith("One two")


# -- measured weak tasks -------------------------------------------------------------------


def test_weak_tasks_come_from_measurements_keyed_by_the_model_source(tmp_path: Path) -> None:
    store = tmp_path / "measured.json"
    store.write_text("{}")
    manifest = {"source": {"sha256": "abc"}}
    assert weak_tasks_for(manifest, store) == {}
    record(manifest, {"model_pass_rate": {"tone": 0.1, "shorten": 0.9}}, store)
    assert weak_tasks_for(manifest, store) == {Task.CHANGE_TONE: WEAK_NOTE}
    assert weak_tasks_for({"source": {"sha256": "other"}}, store) == {}
    store.write_text("not json")
    assert weak_tasks_for(manifest, store) == {}


def test_an_unmeasured_model_has_no_weak_tasks(tiny_model: LocalModel) -> None:
    assert tiny_model.weak_tasks() == {}


def test_expand_starts_with_the_continuation_where_its_pattern_was_measured_useless(
    tiny_model: LocalModel, tmp_path: Path
) -> None:
    store = tmp_path / "measured.json"
    store.write_text("{}")
    manifest = {"source": {"sha256": "abc"}}
    assert expand_pattern_first_pass(manifest, store) is None
    record(manifest, {"tasks": {"expand": {"first_attempt_pass": 0.45}}}, store)
    assert expand_pattern_first_pass(manifest, store) is None  # not what the pattern did
    record(manifest, {"tasks": {"expand": {"pattern_first_attempt_pass": 0.0}}}, store)
    assert expand_pattern_first_pass(manifest, store) == 0.0
    # An unmeasured model keeps the worked-example prompt first; the measured one does not.
    request = GenerationRequest("expand", selection="The river rose in the night.")
    assert not tiny_model.expand_continues_first
    assert not tiny_model.plan(request).appends_to_source
    tiny_model.expand_continues_first = True
    try:
        assert tiny_model.plan(request).appends_to_source
        assert tiny_model.run(request).text.startswith("The river rose in the night.")
    finally:
        tiny_model.expand_continues_first = False


def test_the_shipped_measurements_are_valid_json() -> None:
    from inference.runtime.measured_quality import MEASUREMENTS_PATH

    data = json.loads(MEASUREMENTS_PATH.read_text())
    for entry in data.values():
        assert all(0 <= rate <= 1 for rate in entry["model_pass_rate"].values())


@pytest.mark.parametrize("task", ["shorten", "summarize"])
def test_shorten_and_summarize_never_come_back_longer(tiny_model: LocalModel, task: str) -> None:
    for seed in (1, 2):
        result = tiny_model.run(
            GenerationRequest(
                task, selection=TEXT, sampling=SamplingSettings(temperature=1.0, seed=seed)
            )
        )
        assert result.check.passed
        assert word_count(result.text) < word_count(TEXT)
