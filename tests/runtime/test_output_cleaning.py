from __future__ import annotations

import pytest

from inference.runtime.output_cleaning import (
    ContinuationSpacing,
    clean_answer,
    clean_continuation,
    strip_markers,
)
from inference.runtime.tasks import Task


def stream(before: str, pieces: list[str]) -> str:
    spacing = ContinuationSpacing(before)
    return "".join(spacing.feed(p) for p in pieces)


@pytest.mark.parametrize(
    ("before", "pieces", "expected"),
    [
        ("She opened the door", [" and", " left."], " and left."),  # model's own space kept
        ("She opened the door ", [" and", " left."], "and left."),  # writer typed the space
        ("She opened the door.", ["It", " was"], " It was"),  # missing space added
        ("She opened the door.", [" It"], " It"),
        ("The end.\n\n", ["  Next", " part"], "Next part"),  # new paragraph: no indent
        ("She said,", ['"Hi"'], ' "Hi"'),
        ("Mid-wo", ["rd"], "rd"),  # finishing a word
        ("She waited", ["", " long"], " long"),
    ],
)
def test_continuation_joins_the_text_before_it(
    before: str, pieces: list[str], expected: str
) -> None:
    assert stream(before, pieces) == expected


def test_sentence_length_cuts_after_the_first_sentence() -> None:
    assert clean_continuation(" It rained. Then it", "sentence") == " It rained."
    assert clean_continuation(" It rained. Then it", "paragraph") == " It rained. Then it"


def test_a_continuation_cut_off_by_its_token_limit_ends_at_its_last_full_sentence() -> None:
    cut = " with sails pulled by a man. She told him there was no sail. He sailed, and landed on a"
    assert clean_continuation(cut, "paragraph", cut_off=True) == (
        " with sails pulled by a man. She told him there was no sail."
    )
    assert clean_continuation(cut, "paragraph") == cut  # it ended by itself: left as it is
    # Too little would be left: the unfinished clause is still worth offering.
    assert clean_continuation(" boat. Then it turned", "paragraph", cut_off=True) == (
        " boat. Then it turned"
    )
    assert clean_continuation("\n\nThe tide came in and", "paragraph", cut_off=True) == (
        "\n\nThe tide came in and"
    )


def test_markers_never_reach_the_writer() -> None:
    text = "<|im_start|>assistant\nHello<|im_end|> there</s>[INST]"
    assert strip_markers(text) == "assistant\nHello there"
    assert "<|" not in clean_answer(Task.REWRITE, text)
    assert clean_answer(Task.REWRITE, text) == "Hello there"


def test_answer_loses_chatty_preamble_and_wrapping_quotes() -> None:
    raw = 'Sure! Here is the rewritten text:\n\n"The rain fell softly."'
    assert clean_answer(Task.REWRITE, raw, source="The rain fell.") == "The rain fell softly."


def test_quotes_stay_when_the_source_was_quoted() -> None:
    raw = '"Go," she said.'
    assert clean_answer(Task.REWRITE, raw, source='"Go," she said.') == raw


def test_brainstorm_becomes_a_markdown_list() -> None:
    raw = "1. A storm arrives\n2) The letter is found\n\n- She leaves town\n* Twist"
    assert clean_answer(Task.BRAINSTORM, raw) == (
        "- A storm arrives\n- The letter is found\n- She leaves town\n- Twist"
    )


def test_brainstorm_leaves_out_ideas_that_restate_the_text() -> None:
    source = "The storm came in off the harbour just after dusk. Mara closed the shutters."
    raw = (
        "- Mara is a sailor.\n- The storm came in on the harbour just after dusk.\n"
        "- A boat is lost."
    )
    assert clean_answer(Task.BRAINSTORM, raw, source) == "- Mara is a sailor.\n- A boat is lost."
    restating_only = "- The storm came in off the harbour."
    assert clean_answer(Task.BRAINSTORM, restating_only, source) == restating_only


def test_cleaning_never_empties_a_real_answer() -> None:
    assert clean_answer(Task.SUMMARIZE, "Here is the summary:\n") == "Here is the summary:"


def test_an_introduction_paragraph_ending_in_a_colon_is_dropped() -> None:
    raw = (
        "The original text is about a lighthouse. Here's an expanded version:\n\n"
        "The lighthouse stood tall."
    )
    assert clean_answer(Task.EXPAND, raw) == "The lighthouse stood tall."


def feed_all(pieces: list[str]) -> str:
    from inference.runtime.output_cleaning import AnswerStream

    stream = AnswerStream()
    return "".join(stream.feed(p) for p in pieces) + stream.flush()


def test_answer_stream_drops_a_chatty_first_line() -> None:
    assert (
        feed_all(["Sure", "! Here is", " the text:", "\n\n", "The rain", " fell."])
        == "The rain fell."
    )


def test_answer_stream_passes_normal_text_at_once() -> None:
    from inference.runtime.output_cleaning import AnswerStream

    stream = AnswerStream()
    assert stream.feed("  \n") == ""
    assert stream.feed("The rain fell softly") == "The rain fell softly"  # no waiting
    assert stream.feed(" on the roof.") == " on the roof."


def test_answer_stream_keeps_an_answer_that_only_looked_like_an_introduction() -> None:
    assert (
        feed_all(["Here", " the river bends", " west.\nIt rained."])
        == "Here the river bends west.\nIt rained."
    )
    assert feed_all(["Summary"]) == "Summary"
