"""Sampling rules on hand-made logits: each test would fail if its rule were ignored."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.runtime.errors import InvalidRequestError
from inference.runtime.sampling import MAX_TEMPERATURE, Sampler, SamplingSettings
from tests.perf import expect_fast

GREEDY = SamplingSettings(temperature=0, repetition_penalty=1.0)


def logits(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float32)


def test_greedy_takes_the_top_token() -> None:
    assert Sampler(GREEDY).choose(logits(0.1, 3.0, 2.9, -1)) == 1


def test_seed_makes_sampling_repeatable_and_different_seeds_differ() -> None:
    scores = np.linspace(0, 1, 50).astype(np.float32)
    settings = SamplingSettings(
        temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, repetition_penalty=1.0, seed=7
    )

    def draw(seed: int) -> list[int]:
        sampler = Sampler(SamplingSettings(**{**settings.__dict__, "seed": seed}))
        return [sampler.choose(scores) for _ in range(40)]

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)


def test_top_k_one_is_greedy_even_when_hot() -> None:
    sampler = Sampler(
        SamplingSettings(
            temperature=5.0, top_k=1, top_p=1.0, min_p=0.0, repetition_penalty=1.0, seed=1
        )
    )
    assert {sampler.choose(logits(1.0, 1.2, 0.9)) for _ in range(30)} == {1}


def test_top_k_limits_the_candidates() -> None:
    sampler = Sampler(
        SamplingSettings(
            temperature=5.0, top_k=2, top_p=1.0, min_p=0.0, repetition_penalty=1.0, seed=3
        )
    )
    picks = {sampler.choose(logits(1.0, 5.0, 4.9, 0.5, 0.2)) for _ in range(200)}
    assert picks == {1, 2}


def test_top_p_keeps_the_smallest_set_reaching_p() -> None:
    # probabilities ~ 0.5, 0.3, 0.2: top_p 0.6 keeps the first two only.
    probs = np.array([0.5, 0.3, 0.2])
    sampler = Sampler(
        SamplingSettings(
            temperature=1.0, top_k=0, top_p=0.6, min_p=0.0, repetition_penalty=1.0, seed=5
        )
    )
    picks = {sampler.choose(np.log(probs).astype(np.float32)) for _ in range(300)}
    assert picks == {0, 1}


def test_min_p_drops_tokens_far_below_the_best() -> None:
    probs = np.array([0.6, 0.35, 0.05])
    sampler = Sampler(
        SamplingSettings(
            temperature=1.0, top_k=0, top_p=1.0, min_p=0.2, repetition_penalty=1.0, seed=5
        )
    )
    picks = {sampler.choose(np.log(probs).astype(np.float32)) for _ in range(300)}
    assert picks == {0, 1}  # 0.05 < 0.2 * 0.6


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits() -> None:
    # token 0 (positive, seen): 4.0 / 2 = 2.0 < 3.0 -> token 1 wins.
    sampler = Sampler(SamplingSettings(temperature=0, repetition_penalty=2.0), context=[0])
    assert sampler.choose(logits(4.0, 3.0)) == 1
    # token 0 (negative, seen): -1.0 * 2 = -2.0 < -1.5 -> token 1 wins; without the
    # penalty token 0 would (the rule is not "subtract").
    sampler = Sampler(SamplingSettings(temperature=0, repetition_penalty=2.0), context=[0])
    assert sampler.choose(logits(-1.0, -1.5)) == 1
    assert Sampler(GREEDY).choose(logits(-1.0, -1.5)) == 0


def test_repetition_penalty_applies_to_accepted_tokens_within_the_window() -> None:
    sampler = Sampler(SamplingSettings(temperature=0, repetition_penalty=3.0, repetition_window=2))
    scores = logits(2.0, 1.0, 0.0)
    assert sampler.choose(scores) == 0
    sampler.accept(0)
    assert sampler.choose(scores) == 1  # 2.0 / 3 < 1.0
    sampler.accept(2)
    sampler.accept(2)  # token 0 leaves the two-token window
    assert sampler.choose(scores) == 0


def test_no_repeat_ngram_bans_the_token_completing_a_seen_ngram() -> None:
    settings = SamplingSettings(temperature=0, repetition_penalty=1.0, no_repeat_ngram=3)
    sampler = Sampler(settings, context=[5, 6, 7, 5, 6])
    # the trigram (5, 6, 7) was seen: after "5 6" token 7 is banned.
    assert 7 in sampler.banned_tokens()
    scores = np.zeros(10, dtype=np.float32)
    scores[7] = 10
    scores[3] = 1
    assert sampler.choose(scores) == 3
    sampler.accept(3)
    assert sampler.banned_tokens() == []


def test_no_repeat_ngram_never_leaves_nothing_to_choose() -> None:
    # n=1 bans every token seen. While one is left the rule holds (token 2, not greedy's 1)...
    greedy_rule = SamplingSettings(temperature=0, repetition_penalty=1.0, no_repeat_ngram=1)
    assert Sampler(greedy_rule, context=[0, 1]).choose(logits(1.0, 2.0, 0.5)) == 2
    # ...and when every token is banned it is lifted, for greedy and sampled choices alike
    # (a sampler drawing from all -inf scores would fail or return garbage).
    assert Sampler(greedy_rule, context=[0, 1]).choose(logits(1.0, 2.0)) == 1
    hot_rule = SamplingSettings(
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        min_p=0.0,
        repetition_penalty=1.0,
        no_repeat_ngram=1,
        seed=4,
    )
    sampler = Sampler(hot_rule, context=[0, 1])
    assert {sampler.choose(logits(1.0, 1.2)) for _ in range(100)} == {0, 1}


@pytest.mark.parametrize(
    "bad",
    [
        {"temperature": -0.1},
        {"temperature": math.nan},
        {"top_p": 0.0},
        {"top_p": 1.5},
        {"min_p": 1.0},
        {"min_p": -0.1},
        {"top_k": -1},
        {"repetition_penalty": 0.0},
        {"no_repeat_ngram": -2},
        {"temperature": math.inf},
    ],
)
def test_nonsense_settings_are_refused_with_a_message(bad: dict[str, float]) -> None:
    with pytest.raises(InvalidRequestError) as error:
        SamplingSettings(**bad).validated()
    assert str(error.value)


def test_extreme_temperature_is_clamped() -> None:
    assert SamplingSettings(temperature=100).validated().temperature == MAX_TEMPERATURE


@pytest.mark.perf
def test_sampling_cost_per_token_is_small_for_a_real_vocabulary() -> None:
    import time

    rng = np.random.default_rng(0)
    scores = rng.standard_normal(49152).astype(np.float32)
    sampler = Sampler(SamplingSettings(seed=1), context=list(range(256)))
    started = time.perf_counter()
    for token in range(200):
        sampler.choose(scores)
        sampler.accept(token)
    per_token = (time.perf_counter() - started) / 200
    # a decode step of the real model takes ~15 ms
    expect_fast(per_token, 0.005, "sampling per token, 49k vocabulary")
