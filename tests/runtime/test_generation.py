"""The generation loop on a real onnxruntime session of the tiny model."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from inference.runtime import (
    GenerationRequest,
    LocalModel,
    SamplingSettings,
    StopReason,
)
from inference.runtime.generation import GenerationOutput, Generator
from inference.runtime.model_session import ModelSession
from tests.perf import expect_fast
from tests.runtime.cancel_probe import CancelProbe
from tests.runtime.conftest import load

GREEDY = SamplingSettings(temperature=0, repetition_penalty=1.0)
STORY = (
    "The lighthouse keeper climbed the stairs every evening. She counted the steps, "
    "one hundred and twelve, and lit the lamp.\n\nThat night the fog came in early."
)


def continue_request(before: str = STORY, **kwargs: object) -> GenerationRequest:
    options: dict[str, object] = {"sampling": GREEDY, "max_new_tokens": 12}
    options.update(kwargs)
    return GenerationRequest("continue", before=before, **options)  # type: ignore[arg-type]


def generate_ids(
    generator: Generator, prompt: list[int], count: int = 10, **kwargs: object
) -> list[int]:
    options: dict[str, object] = {
        "max_new_tokens": count,
        "sampling": GREEDY,
        "min_new_tokens": count,
    }
    options.update(kwargs)
    return generator.generate(prompt, **options).token_ids  # type: ignore[arg-type]


def prompt_ids(model: LocalModel, text: str = STORY) -> list[int]:
    return model.codec.encode(text)


def test_continue_at_temperature_zero_is_reproducible(runtime_model_dir: Path) -> None:
    first = load(runtime_model_dir).run(continue_request())
    second = load(runtime_model_dir).run(continue_request())
    assert first.stats.generated_tokens > 0
    assert first.raw_text == second.raw_text


def test_streamed_pieces_add_up_to_the_result(tiny_model: LocalModel) -> None:
    pieces: list[str] = []
    result = tiny_model.run(continue_request(max_new_tokens=20), on_text=pieces.append)
    assert "".join(pieces).rstrip() == result.text


def test_prompt_cache_gives_the_same_tokens_as_a_cold_run(runtime_model_dir: Path) -> None:
    warm_model = load(runtime_model_dir)
    warm_model.run(continue_request())
    longer = STORY + " The keeper lit a second lamp."
    warm = warm_model.run(continue_request(longer))
    cold = load(runtime_model_dir).run(continue_request(longer))
    assert warm.stats.reused_tokens > len(prompt_ids(warm_model)) // 2
    assert cold.stats.reused_tokens == 0
    assert warm.raw_text == cold.raw_text


@pytest.mark.perf
def test_prompt_cache_makes_the_next_request_faster(runtime_model_dir: Path) -> None:
    # One token per prefill step makes the cost proportional to the computed tokens,
    # which is what the cache saves.
    model = load(runtime_model_dir, prefill_chunk=1)
    cold = model.run(continue_request())
    warm = model.run(continue_request(STORY + " More"))
    assert warm.stats.computed_prompt_tokens < cold.stats.computed_prompt_tokens // 4
    expect_fast(
        warm.stats.prefill_seconds,
        cold.stats.prefill_seconds / 2,
        "warm prefill (goal: half of cold)",
    )


def test_chunked_prefill_matches_a_single_prefill(runtime_model_dir: Path) -> None:
    results = []
    for chunk in (1, 7, 512):
        model = load(runtime_model_dir, prefill_chunk=chunk)
        results.append(generate_ids(model.generator, prompt_ids(model)))
    assert results[0] == results[1] == results[2]


def test_io_binding_path_matches_the_plain_path(runtime_model_dir: Path) -> None:
    plain = load(runtime_model_dir)
    folder = plain.folder
    bound_session = ModelSession.load(folder, plain.settings.session_settings(), io_binding=True)
    bound = Generator(bound_session, plain.codec.stream_decoder)
    ids = prompt_ids(plain)
    assert generate_ids(bound, ids) == generate_ids(plain.generator, ids)
    # and the cache it kept is reused the same way
    longer = [*ids, ids[-1]]
    assert generate_ids(bound, longer) == generate_ids(plain.generator, longer)


def test_cancel_stops_within_one_model_step(runtime_model_dir: Path) -> None:
    model = load(runtime_model_dir)
    with CancelProbe(model, after_pieces=3) as probe:
        result = model.run(
            continue_request(
                max_new_tokens=200,
                sampling=SamplingSettings(temperature=1.0, seed=3, repetition_penalty=1.0),
            ),
            on_text=probe.on_text,
            cancel=probe.cancel,
        )
    assert result.cancelled
    assert probe.steps_after_cancel <= 1
    assert result.stats.generated_tokens < 200


def test_cancel_from_another_thread_returns_promptly(tiny_model: LocalModel) -> None:
    # This generation cannot end by itself: no end tokens, no stop strings, room for far more
    # tokens than it makes before the cancel, and its first piece waits for the cancel.
    cancel = threading.Event()
    first_piece = threading.Event()
    outcome: dict[str, GenerationOutput] = {}
    ids = prompt_ids(tiny_model)[:8]

    def on_text(_piece: str) -> None:
        first_piece.set()
        cancel.wait(30)

    def work() -> None:
        outcome["result"] = tiny_model.generator.generate(
            ids,
            max_new_tokens=tiny_model.session.context_length - len(ids),
            sampling=SamplingSettings(temperature=1.0, seed=1, repetition_penalty=1.0),
            on_text=on_text,
            cancel=cancel,
        )

    thread = threading.Thread(target=work)
    thread.start()
    assert first_piece.wait(30)
    cancel.set()
    thread.join(5)
    assert not thread.is_alive()
    assert outcome["result"].stop_reason is StopReason.CANCELLED


def test_a_cancel_set_before_start_generates_nothing(tiny_model: LocalModel) -> None:
    cancel = threading.Event()
    cancel.set()
    result = tiny_model.run(continue_request(), cancel=cancel)
    assert result.stop_reason is StopReason.CANCELLED
    assert result.cancelled and result.stats.generated_tokens == 0 and result.text == ""


def test_max_tokens_is_exact(tiny_model: LocalModel) -> None:
    ids = prompt_ids(tiny_model)
    output = tiny_model.generator.generate(ids, max_new_tokens=5, sampling=GREEDY, min_new_tokens=5)
    assert len(output.token_ids) == 5 and output.stop_reason is StopReason.MAX_TOKENS


def test_end_token_stops_generation(tiny_model: LocalModel) -> None:
    ids = prompt_ids(tiny_model)
    expected = generate_ids(tiny_model.generator, ids, 6)
    stop_at = expected[3]
    first = expected.index(stop_at)
    output = tiny_model.generator.generate(
        ids, max_new_tokens=6, sampling=GREEDY, stop_token_ids=[stop_at], min_new_tokens=0
    )
    assert output.stop_reason is StopReason.END_TOKEN
    assert output.token_ids == expected[:first]


def test_stop_string_ends_the_text_before_it(tiny_model: LocalModel) -> None:
    ids = prompt_ids(tiny_model)
    full = tiny_model.generator.generate(
        ids, max_new_tokens=30, sampling=GREEDY, min_new_tokens=30
    ).text
    assert len(full) > 6
    stop = full[3:5]
    output = tiny_model.generator.generate(
        ids, max_new_tokens=30, sampling=GREEDY, min_new_tokens=30, stop_strings=[stop]
    )
    assert output.stop_reason is StopReason.STOP_STRING
    assert output.text == full[: full.index(stop)]


def test_generation_stops_when_the_context_is_full(tiny_model: LocalModel) -> None:
    context = tiny_model.session.context_length
    ids = (prompt_ids(tiny_model) * 50)[: context - 4]
    output = tiny_model.generator.generate(
        ids, max_new_tokens=50, sampling=GREEDY, min_new_tokens=50
    )
    assert output.stop_reason is StopReason.CONTEXT_FULL
    assert tiny_model.generator.cache.length <= context


def test_warm_then_run_computes_almost_nothing_and_matches_cold(runtime_model_dir: Path) -> None:
    model = load(runtime_model_dir)
    request = continue_request()
    cached = model.warm(request)
    assert cached == len(model.plan(request).token_ids)
    warm = model.run(request)
    assert warm.stats.computed_prompt_tokens == 0
    assert warm.raw_text == load(runtime_model_dir).run(request).raw_text


def test_background_warm_is_preempted_safely_by_a_request(runtime_model_dir: Path) -> None:
    model = load(runtime_model_dir, prefill_chunk=1)
    request = continue_request(STORY * 2)
    thread = model.warm_in_background(request)
    result = model.run(request)
    thread.join(10)
    assert not thread.is_alive()
    assert result.raw_text == load(runtime_model_dir).run(request).raw_text


@pytest.mark.perf
def test_per_token_overhead_of_the_loop_is_small(runtime_model_dir: Path) -> None:
    model = load(runtime_model_dir, lookup_drafts=False)  # one run per token
    spent = []
    forward = model.session.forward

    def timed_forward(ids: np.ndarray, cache: object) -> np.ndarray:
        started = time.perf_counter()
        try:
            return forward(ids, cache)  # type: ignore[arg-type]
        finally:
            spent.append(time.perf_counter() - started)

    model.session.forward = timed_forward  # type: ignore[method-assign]
    ids = prompt_ids(model)[:20]
    output = model.generator.generate(
        ids, max_new_tokens=60, sampling=SamplingSettings(seed=1), min_new_tokens=60
    )
    steps = len(spent) - 1
    loop_overhead = (output.stats.decode_seconds - sum(spent[1:])) / max(steps, 1)
    assert steps >= 30
    expect_fast(loop_overhead, 0.002, "Python per token, outside onnxruntime")


@pytest.mark.parametrize("chunk", [3])
def test_cancel_during_prefill_keeps_the_cache_consistent(
    runtime_model_dir: Path, chunk: int
) -> None:
    model = load(runtime_model_dir, prefill_chunk=chunk)
    ids = prompt_ids(model)

    class CancelAfter:
        def __init__(self, checks: int) -> None:
            self.checks = checks

        def is_set(self) -> bool:
            self.checks -= 1
            return self.checks < 0

    output = model.generator.generate(ids, max_new_tokens=5, sampling=GREEDY, cancel=CancelAfter(2))
    assert output.stop_reason is StopReason.CANCELLED and output.token_ids == []
    assert model.generator.cache.length == 2 * chunk
    assert generate_ids(model.generator, ids) == generate_ids(
        load(runtime_model_dir).generator, ids
    )


def test_in_place_kv_buffers_match_the_growing_cache(runtime_model_dir: Path) -> None:
    shared = load(runtime_model_dir)
    growing = load(runtime_model_dir, shared_kv=False)
    assert shared.session.kv_capacity is not None  # the fused graph supports it
    assert growing.session.kv_capacity is None and not growing.generator.cache.shared
    longer = STORY + " The keeper lit a second lamp."
    for text in (STORY, longer, STORY[:60], longer):  # cold, extend, cut back, extend again
        request = continue_request(text, max_new_tokens=20)
        a, b = shared.run(request), growing.run(request)
        assert a.raw_text == b.raw_text
        assert a.stats.reused_tokens == b.stats.reused_tokens
    assert shared.generator.cache.nbytes() > 0


def test_streamed_text_equals_decoding_all_tokens_at_once(tiny_model: LocalModel) -> None:
    """Whole characters only: pieces never split a multi-byte character."""
    ids = tiny_model.codec.encode("Café — naïve 😀 ünïcödé. ")
    spanning: list[str] = []  # characters whose bytes came in more than one token
    for seed in range(8):
        pieces: list[str] = []
        output = tiny_model.generator.generate(
            ids,
            max_new_tokens=80,
            min_new_tokens=80,
            on_text=pieces.append,
            # Every token new (no_repeat_ngram=1): the random model is pushed through byte
            # tokens instead of repeating one space, so some characters span tokens.
            sampling=SamplingSettings(
                temperature=1.5, seed=seed, top_k=0, top_p=1.0, min_p=0.0, no_repeat_ngram=1
            ),
        )
        streamed = "".join(pieces)
        decoded = tiny_model.codec.decode(output.token_ids)
        assert decoded.startswith(streamed)
        assert decoded[len(streamed) :].strip("\ufffd") == ""  # only an unfinished last one
        if any("\ufffd" in tiny_model.codec.decode([t]) for t in output.token_ids):
            spanning += [c for c in streamed if len(c.encode("utf-8")) > 1 and c != "\ufffd"]
    assert spanning, "no run held a character made of several tokens: the test proved nothing"


def test_a_task_prefix_is_kept_while_other_requests_run(runtime_model_dir: Path) -> None:
    model = load(runtime_model_dir)
    fresh = load(runtime_model_dir)
    greedy = SamplingSettings(temperature=0)
    examples = list(range(40, 120))  # the worked examples every request of a task shares
    first, document, second = list(range(5, 25)), list(range(130, 190)), list(range(60, 75))

    def run(generator: Generator, ids: list[int], prefix: int):
        return generator.generate(ids, max_new_tokens=6, sampling=greedy, shared_prefix=prefix)

    run(model.generator, examples + first, len(examples))
    run(model.generator, document, 0)  # a suggestion on the document in between
    again = run(model.generator, examples + second, len(examples))
    assert again.stats.reused_tokens >= len(examples)
    assert model.generator.cache.tokens[: len(document)] == document  # the document's cache
    cold = run(fresh.generator, examples + second, 0)
    assert again.token_ids == cold.token_ids  # same answer as computing everything
