"""Context fitting with the model's real tokenizer."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from inference.runtime.context_window import fit_head, fit_tail
from inference.runtime.text_codec import TextCodec
from tests.perf import expect_fast


@pytest.fixture(scope="module")
def codec(runtime_model_dir: Path) -> TextCodec:
    return TextCodec.from_file(runtime_model_dir / "tokenizer.json")


def paragraphs(count: int) -> str:
    return "\n\n".join(
        f"Paragraph {i} begins here. The writer kept going with sentence two of it. "
        f"And a third sentence closes paragraph {i}."
        for i in range(count)
    )


def test_text_that_fits_is_untouched(codec: TextCodec) -> None:
    text = "A short draft."
    fitted = fit_tail(text, 100, codec)
    assert fitted.text == text and not fitted.cut
    assert fitted.tokens == codec.count(text)


def test_long_text_keeps_the_end_and_starts_at_a_paragraph(codec: TextCodec) -> None:
    text = paragraphs(30)
    budget = codec.count(text) // 3
    fitted = fit_tail(text, budget, codec)
    assert fitted.cut
    assert fitted.tokens <= budget
    assert text.endswith(fitted.text)
    assert fitted.text.startswith("Paragraph ")
    assert fitted.tokens > budget // 2  # did not throw away more than it had to


def test_without_paragraphs_it_starts_at_a_sentence(codec: TextCodec) -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(200))
    budget = 120
    fitted = fit_tail(text, budget, codec)
    assert fitted.tokens <= budget
    assert fitted.text.startswith("Sentence number ")
    assert text.endswith(fitted.text)


def test_without_any_boundary_it_still_never_exceeds_the_budget(codec: TextCodec) -> None:
    text = "x" * 5000
    fitted = fit_tail(text, 50, codec)
    assert 0 < fitted.tokens <= 50
    assert text.endswith(fitted.text)


def test_start_stays_put_while_the_writer_types_at_the_end(codec: TextCodec) -> None:
    """A stable start is what lets the prompt cache reuse the previous request."""
    text = paragraphs(30)
    budget = codec.count(text) // 2
    first = fit_tail(text, budget, codec)
    typed = fit_tail(text + " Then one more sentence.", budget, codec)
    assert typed.text.startswith(first.text)


@pytest.mark.perf
def test_huge_text_is_fitted_quickly(codec: TextCodec) -> None:
    text = paragraphs(20000)  # ~2.7 million characters
    started = time.perf_counter()
    fitted = fit_tail(text, 1000, codec)
    expect_fast(time.perf_counter() - started, 2.0, "fitting 2.7 million characters")
    assert fitted.tokens <= 1000 and text.endswith(fitted.text)


def test_zero_budget_gives_nothing(codec: TextCodec) -> None:
    assert fit_tail("some text", 0, codec).text == ""


def test_fit_head_keeps_the_beginning(codec: TextCodec) -> None:
    text = paragraphs(30)
    fitted = fit_head(text, 80, codec)
    assert fitted.cut and fitted.tokens <= 80
    assert text.startswith(fitted.text)
