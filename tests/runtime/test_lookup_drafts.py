"""Drafting tokens from the text so far and checking them in one model run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from inference.runtime import LocalModel, SamplingSettings, StopReason
from inference.runtime.lookup_drafts import MAX_DRAFT, LookupDrafter
from tests.runtime.conftest import load

GREEDY = SamplingSettings(temperature=0, repetition_penalty=1.0)
# A random model's greedy text falls into a loop within a few dozen tokens: drafts from its
# own earlier tokens are then right, and before that they are often wrong.
PROMPT = [5, 9, 14, 3, 5, 9, 14, 7, 22, 5, 9, 31, 40, 2, 17, 5, 9, 14, 3]


# -- the drafter ---------------------------------------------------------------------------


def drafter_of(tokens: list[int]) -> LookupDrafter:
    drafter = LookupDrafter(tokens)
    drafter.limit = MAX_DRAFT  # as after drafts the model took whole
    return drafter


def test_drafts_what_followed_the_latest_match() -> None:
    drafter = drafter_of([1, 2, 3, 4, 5, 9, 1, 2, 3, 8, 6, 1, 2])
    # [1, 2] last continued with 3, 8, 6 (the later of its two earlier occurrences).
    assert drafter.draft(3) == [3, 8, 6]
    assert drafter.draft(1) == [3]
    drafter.append(3)  # [1, 2, 3]: the longer match wins over [2, 3] and [3]
    assert drafter.draft(2) == [8, 6]


def test_prefers_the_longest_match() -> None:
    drafter = drafter_of([7, 8, 9, 1, 5, 6, 8, 9, 2, 7, 8, 9])
    # [8, 9] last continued with 2; [7, 8, 9] (longer) continued with 1.
    assert drafter.draft(2) == [1, 5]


def test_no_draft_without_a_repeated_ngram() -> None:
    assert drafter_of([1, 2, 3, 4]).draft() == []
    assert drafter_of([1, 2, 3, 1]).draft() == []  # one token repeated is not enough
    assert drafter_of([]).draft() == []
    assert drafter_of([1, 2, 1, 2]).draft(0) == []


def test_a_loop_is_drafted_to_go_on() -> None:
    # [4, 4, 4] last continued one token before the end: the loop is copied onwards.
    assert drafter_of([4, 4, 4, 4]).draft(5) == [4, 4, 4, 4, 4]
    assert drafter_of([1, 2, 3, 7, 8, 7, 8]).draft(5) == [7, 8, 7, 8, 7]


def test_draft_length_follows_what_the_model_took() -> None:
    drafter = LookupDrafter([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 5, 6])
    assert drafter.draft() == [7]  # one guess to begin with
    drafter.record(drafted=1, accepted=1)
    assert drafter.draft() == [7, 8, 9]  # taken whole: two more
    drafter.record(drafted=3, accepted=3)
    drafter.record(drafted=5, accepted=5)
    drafter.record(drafted=7, accepted=7)
    assert len(drafter.draft()) == MAX_DRAFT
    drafter.record(drafted=MAX_DRAFT, accepted=2)  # refused after two: one more than taken
    assert drafter.draft() == [7, 8, 9]
    drafter.record(drafted=3, accepted=0)
    assert drafter.draft() == [7]
    drafter.record(drafted=0, accepted=0)  # no draft: nothing learned
    assert drafter.draft() == [7]


# -- the model session ---------------------------------------------------------------------


def test_rows_are_the_logits_one_step_at_a_time_gives(tiny_model: LocalModel) -> None:
    session = tiny_model.session
    assert session.multi_row_logits
    ids = [11, 12, 13, 14, 15, 16]
    stepped = session.new_cache()
    expected = [session.forward(np.array([[t]], np.int64), stepped) for t in ids]
    chunked = session.new_cache()
    session.forward(np.array([ids[:2]], np.int64), chunked)
    rows = session.forward_rows(np.array([ids[2:]], np.int64), chunked, 4)
    assert rows.shape == (4, session.vocab_size)
    # A chunk's int8 activations round apart from single steps' (as a prefill does): the
    # same decisions, values close.
    assert_same_decisions(rows, np.stack(expected[2:]))
    # One row again after four, then more rows than ever: the bound output follows.
    last = session.forward(np.array([[17]], np.int64), chunked)
    assert_same_decisions(last[None], session.forward(np.array([[17]], np.int64), stepped)[None])
    more = [18, 19, 20, 21, 22, 23]
    wide = session.forward_rows(np.array([more], np.int64), chunked, 6)
    assert_same_decisions(
        wide, np.stack([session.forward(np.array([[t]], np.int64), stepped) for t in more])
    )
    assert chunked.tokens == stepped.tokens


def assert_same_decisions(rows: np.ndarray, expected: np.ndarray) -> None:
    assert rows.argmax(-1).tolist() == expected.argmax(-1).tolist()
    spread = float(expected.max() - expected.min())
    assert float(np.abs(rows - expected).max()) < 0.05 * spread


def test_more_rows_than_tokens_gives_one_row_per_token(tiny_model: LocalModel) -> None:
    session = tiny_model.session
    cache = session.new_cache()
    assert session.forward_rows(np.array([[3, 4]], np.int64), cache, 8).shape == (
        2,
        session.vocab_size,
    )


# -- generation ----------------------------------------------------------------------------


def _generate(model: LocalModel, drafts: bool, sampling: SamplingSettings, count: int = 80):
    model.generator.lookup_drafts = drafts
    model.generator.clear_cache()
    return model.generator.generate(
        PROMPT, max_new_tokens=count, min_new_tokens=count, sampling=sampling
    )


def test_drafted_generation_writes_the_same_tokens(tiny_model: LocalModel) -> None:
    plain = _generate(tiny_model, False, GREEDY)
    drafted = _generate(tiny_model, True, GREEDY)
    assert plain.stats.drafted_tokens == 0
    assert drafted.stats.drafted_tokens > 0
    assert drafted.stats.accepted_draft_tokens > 10  # the loop is found and followed
    assert drafted.token_ids == plain.token_ids
    assert drafted.text == plain.text


def test_sampled_generation_with_a_seed_is_unchanged_by_drafts(
    tiny_model: LocalModel,
) -> None:
    # Every token is still sampled once, in order, from its own position's logits.
    sampling = SamplingSettings(temperature=0.7, top_k=20, seed=1234, repetition_penalty=1.1)
    plain = _generate(tiny_model, False, sampling, 60)
    drafted = _generate(tiny_model, True, sampling, 60)
    assert drafted.stats.drafted_tokens > 0
    assert drafted.token_ids == plain.token_ids


def test_the_cache_ends_where_the_text_does(tiny_model: LocalModel) -> None:
    """Rejected drafts leave the cache: a follow-up request reuses exactly the text."""
    # The prompt's end (..., 3) came before as [3, 3] followed by 50, 51, ...: a draft the
    # model's own loop refutes.
    prompt = [3, 3, 50, 51, 52, 53, *PROMPT]
    tiny_model.generator.lookup_drafts = True
    drafted = tiny_model.generator.generate(
        prompt, max_new_tokens=50, min_new_tokens=50, sampling=GREEDY
    )
    cache = tiny_model.generator.cache
    assert drafted.stats.drafted_tokens > drafted.stats.accepted_draft_tokens  # some rejected
    written = prompt + drafted.token_ids
    assert cache.tokens == written[: cache.length]
    assert cache.length >= len(written) - 1
    kept = cache.length
    follow_up = [*written, 7, 8]
    warm = tiny_model.generator.generate(follow_up, max_new_tokens=12, sampling=GREEDY)
    assert warm.stats.reused_tokens == kept
    cold = load(tiny_model.folder.path, lookup_drafts=False).generator.generate(
        follow_up, max_new_tokens=12, sampling=GREEDY
    )
    assert warm.token_ids == cold.token_ids
    undrafted = load(tiny_model.folder.path, lookup_drafts=False).generator.generate(
        prompt, max_new_tokens=50, min_new_tokens=50, sampling=GREEDY
    )
    assert undrafted.token_ids == drafted.token_ids


def test_stops_and_token_limits_hold_with_drafts(tiny_model: LocalModel) -> None:
    for count in (1, 2, 3, 7, 33):
        plain = _generate(tiny_model, False, GREEDY, count)
        drafted = _generate(tiny_model, True, GREEDY, count)
        assert drafted.token_ids == plain.token_ids
        assert len(drafted.token_ids) == count


def test_a_graph_without_logit_rows_generates_without_drafts(
    runtime_model_dir: Path, tmp_path: Path
) -> None:
    """Models built before the input existed: one position's logits, one token per run."""
    folder = tmp_path / "older"
    folder.mkdir()
    for item in runtime_model_dir.iterdir():
        (folder / item.name).symlink_to(item)
    name = "model.q4.onnx"
    (folder / name).unlink()
    model = onnx.load(str(runtime_model_dir / name))
    graph = model.graph
    (neg,) = [n for n in graph.node if list(n.input) == ["logit_rows"]]
    graph.node.remove(neg)  # the slice starts at a constant -1 again
    graph.initializer.append(numpy_helper.from_array(np.array([-1], np.int64), neg.output[0]))
    kept = [i for i in graph.input if i.name != "logit_rows"]
    del graph.input[:]
    graph.input.extend(kept)
    onnx.save(model, str(folder / name))
    older = load(folder, verify_files=False)
    assert not older.session.multi_row_logits
    with pytest.raises(ValueError):
        older.session.forward_rows(np.array([[1, 2]], np.int64), older.session.new_cache(), 2)
    plain = _generate(older, True, GREEDY, 40)
    assert plain.stats.drafted_tokens == 0
    current = load(runtime_model_dir, lookup_drafts=False)
    assert plain.token_ids == _generate(current, False, GREEDY, 40).token_ids


def test_task_requests_draft_in_a_copy_of_their_prefix(tiny_model: LocalModel) -> None:
    """A task's worked examples stay in their own small cache (its positions only); the
    request runs in the task cache, where drafts can be dropped for free."""
    generator = tiny_model.generator
    generator.clear_cache()
    generator.lookup_drafts = True
    prefix = [20, 21, 22, 23, 24, 25, 26, 27]
    outputs = []
    for ending in ([30, 31, *PROMPT], [32, *PROMPT]):
        prompt = prefix + ending
        outputs.append(
            generator.generate(
                prompt, max_new_tokens=40, min_new_tokens=40, sampling=GREEDY, shared_prefix=8
            )
        )
        (kept,) = generator.prefix_caches.values()
        assert kept.tokens == prefix
    assert outputs[1].stats.reused_tokens == len(prefix)
    assert all(o.stats.accepted_draft_tokens > 0 for o in outputs)
    plain = load(tiny_model.folder.path, lookup_drafts=False).generator
    for ending, output in zip(([30, 31, *PROMPT], [32, *PROMPT]), outputs, strict=True):
        expected = plain.generate(
            prefix + ending, max_new_tokens=40, min_new_tokens=40, sampling=GREEDY
        )
        assert output.token_ids == expected.token_ids


def test_drafts_stop_where_the_context_ends(runtime_model_dir: Path) -> None:
    outputs = []
    for drafts in (True, False):
        model = load(runtime_model_dir, context_tokens=48, lookup_drafts=drafts)
        prompt = (PROMPT * 3)[:40]
        outputs.append(model.generator.generate(prompt, max_new_tokens=100, sampling=GREEDY))
    drafted, plain = outputs
    assert drafted.stop_reason is plain.stop_reason is StopReason.CONTEXT_FULL
    assert drafted.token_ids == plain.token_ids
    assert drafted.stats.accepted_draft_tokens > 0


def test_the_bound_and_growing_paths_give_rows_too(tiny_model: LocalModel) -> None:
    """The GPU's I/O-bound path (exercised on the CPU) and the growing cache return every
    asked row; the generator drafts only on in-place caches, where dropping is free."""
    from inference.runtime.model_session import ModelSession

    folder, settings = tiny_model.folder, tiny_model.settings.session_settings()
    ids = [11, 12, 13, 14, 15]
    reference = tiny_model.session
    expected = reference.forward_rows(np.array([ids], np.int64), reference.new_cache(), 3)
    for io_binding in (True, False):
        session = ModelSession.load(folder, settings, io_binding=io_binding, shared_kv=False)
        cache = session.new_cache()
        assert not cache.shared
        rows = session.forward_rows(np.array([ids], np.int64), cache, 3)
        assert_same_decisions(rows, expected)
        assert cache.tokens == ids
