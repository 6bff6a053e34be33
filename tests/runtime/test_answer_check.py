"""The answer check's rules, one by one, with bad answers the default model really wrote."""

from __future__ import annotations

import pytest

from inference.runtime.answer_check import (
    check_answer,
    distinct_2,
    numbers,
    proper_names,
    word_count,
)
from inference.runtime.few_shot import PATTERNS, all_example_texts
from inference.runtime.tasks import Task

MEMOIR = (
    "My grandmother kept her buttons in a biscuit tin from Dundee. On wet afternoons she let "
    "me tip them onto the rug and sort them by colour, and she told me which coat or dress "
    "each one had come from, though I suspect she invented half of it."
)
STORY = (
    "Maren Holt arrived at Carrow Point with two suitcases and a crate of books. The "
    "lighthouse had not been lit in eleven years. She spent the first week scraping salt from "
    "the brass rails, and in the evenings she read by a paraffin lamp."
)
NOTES = "Characters: Maren Holt (keeper). Place: Carrow Point lighthouse."


def check(task: Task, answer: str, source: str = STORY, notes: str = NOTES):
    return check_answer(task, answer, source=source, notes=notes, prompt_texts=all_example_texts())


# -- length ----------------------------------------------------------------------------


def test_a_shorten_longer_than_the_original_fails_with_both_counts() -> None:
    answer = STORY + " " + MEMOIR
    result = check(Task.SHORTEN, answer)
    assert not result.passed
    assert (
        f"It came out longer than the original ({word_count(answer)} words vs "
        f"{word_count(STORY)})." in result.reasons
    )


def test_a_shorten_must_lose_a_quarter_of_the_words() -> None:
    almost = STORY.replace(" with two suitcases and a crate of books", "")
    assert word_count(almost) > 0.75 * word_count(STORY)
    assert "not short enough" in check(Task.SHORTEN, almost).summary


def test_a_real_shortening_passes() -> None:
    answer = "Maren Holt came to the dark lighthouse at Carrow Point and spent a week cleaning it."
    assert check(Task.SHORTEN, answer).passed


def test_a_summary_must_be_at_most_half() -> None:
    half_and_more = "Maren Holt arrived at Carrow Point with two suitcases and a crate of books."
    half_and_more += " The lighthouse had not been lit in eleven years."
    result = check(Task.SUMMARIZE, half_and_more)
    assert not result.passed and "not short enough" in result.summary
    assert check(Task.SUMMARIZE, "Maren Holt came to clean the old Carrow Point lighthouse.").passed


def test_an_expansion_must_be_longer() -> None:
    result = check(Task.EXPAND, "Maren Holt cleaned the lighthouse at Carrow Point.")
    assert not result.passed and "not longer than the original" in result.summary
    longer = (
        STORY + " The lamp room smelled of old oil and rust, and the stairs rang under her boots."
    )
    assert check(Task.EXPAND, longer).passed


def test_a_rewrite_stays_within_a_length_band() -> None:
    assert "left out much" in check(Task.REWRITE, "Maren Holt arrived at Carrow Point.").summary
    assert "much longer" in check(Task.REWRITE, STORY + " " + STORY.upper()).summary


def test_a_shortened_text_keeps_some_of_what_the_original_says() -> None:
    # Seen with the default model: a shorten of a paragraph that passed every other rule.
    vague = "Maren Holt thought it was a very good place."
    assert "keeps too little of what your text says" in check(Task.SHORTEN, vague).summary
    own = "Maren Holt arrived at Carrow Point. The lighthouse had not been lit in eleven years."
    assert check(Task.SHORTEN, own).passed


# -- leaks and talk about the text -----------------------------------------------------


@pytest.mark.parametrize(
    ("task", "answer"),
    [
        (Task.REWRITE, "Rewrite this text to reflect the tone of the original text:"),
        (
            Task.CHANGE_TONE,
            'The sentence is an example of a formal and professional tone. Changed "had" to '
            '"had". Changed "read" to "read".',
        ),
        (
            Task.CHANGE_TONE,
            "Dear Sarah, I hope this message finds you well. I wanted to tell you about my "
            "grandmother and her tin of buttons, which she kept for many years.",
        ),
        (
            Task.DESCRIBE,
            "The writer's notes about this document are filled with names and places, and "
            "the lighthouse is described in detail.",
        ),
        (Task.CHANGE_TONE, "I'm sorry for the inconvenience, but I'm unable to assist."),
        (Task.SUMMARIZE, "The passage describes a woman who moves to a lighthouse."),
    ],
)
def test_answers_seen_in_the_issue_fail(task: Task, answer: str) -> None:
    source = MEMOIR if "grandmother" in answer else STORY
    result = check(task, answer, source)
    assert not result.passed
    assert result.reasons


def test_the_letter_answer_is_marked_as_a_letter_with_an_invented_name() -> None:
    answer = (
        "Dear Sarah, I hope this message finds you well. My grandmother kept her buttons in "
        "a biscuit tin from Dundee, and I sorted them by colour on wet afternoons."
    )
    reasons = check(Task.CHANGE_TONE, answer, MEMOIR, "").summary
    assert "letter" in reasons and "Sarah" in reasons


def test_every_worked_example_passes_its_own_tasks_check() -> None:
    """The examples are the answers the rules are for: a rule that fails one is wrong."""
    from inference.runtime.few_shot import _TONE_PLAIN, TONE_EXAMPLES

    pairs = [
        (task, source, answer) for task, p in PATTERNS.items() for source, answer in p.examples
    ]
    pairs += [(Task.CHANGE_TONE, _TONE_PLAIN, answer) for _, answer in TONE_EXAMPLES.values()]
    for task, source, answer in pairs:
        result = check_answer(task, answer, source=source, prompt_texts=())
        assert result.passed, (task, answer, result.reasons)


def test_a_tone_change_says_nothing_the_text_does_not() -> None:
    # Seen with the default model, "friendly", passing before this rule.
    source = (
        "The Orla sensor measures the water level every fifteen minutes and sends a reading "
        "over LoRaWAN once an hour. Between readings the radio is switched off to save power."
    )
    invented = (
        "The Orla water sensor is a very reliable device. It can withstand the most extreme "
        "weather conditions and has been used to monitor water levels in the ocean for years."
    )
    assert "says things your text does not" in check(Task.CHANGE_TONE, invented, source).summary


def test_copying_a_worked_example_fails() -> None:
    example = PATTERNS[Task.SHORTEN].examples[1][1]
    result = check(Task.SHORTEN, example, STORY)
    assert not result.passed and "instructions or examples" in result.summary


def test_words_shared_with_the_source_are_not_a_leak() -> None:
    source = "We will move the launch from March to May to give support time to prepare. " * 2
    answer = "We will move the launch from March to May to give support time."
    assert "instructions or examples" not in check(Task.SHORTEN, answer, source, "").summary


# -- repetition, echo, names -----------------------------------------------------------


def test_repeated_sentences_fail() -> None:
    answer = "The lamp was dark. Maren Holt lit it at Carrow Point. The lamp was dark."
    assert "repeats itself" in check(Task.SHORTEN, answer.replace(".", ". ", 0)).summary


def test_the_whole_source_plus_extras_fails_for_a_rewrite() -> None:
    answer = STORY + "\n\nRewrite: " + STORY.replace("eleven", "twelve")
    reasons = check(Task.REWRITE, answer).summary
    assert "repeated the original and added" in reasons


def test_an_unchanged_rewrite_fails() -> None:
    assert "unchanged" in check(Task.REWRITE, STORY).summary


def test_names_are_kept_and_none_invented() -> None:
    dropped = STORY.replace("Maren Holt", "A woman").replace("Carrow Point", "the coast")
    assert "dropped names" in check(Task.REWRITE, dropped).summary
    invented = STORY.replace("a crate of books", "her friend Lucinda Marsh")
    assert "Lucinda" in check(Task.REWRITE, invented).summary
    lost = "A woman came to clean the old lighthouse for a week."
    assert "lost the names" in check(Task.SHORTEN, lost).summary


def test_shortening_that_says_new_things_fails() -> None:
    answer = "Maren Holt opened a bakery at Carrow Point and sold bread to tourists."
    assert "says things your text does not" in check(Task.SHORTEN, answer).summary


def test_proper_names_ignore_sentence_openers_and_days() -> None:
    names = proper_names("On Monday the boat left. Then Dov Adler waved to Noa. Rook: 'Go.'")
    assert {"Dov", "Adler", "Noa", "Rook"} <= names
    assert not names & {"On", "Monday", "Then"}


def test_numbers_are_read_as_digits_whichever_way_they_are_written() -> None:
    assert numbers("every fifteen minutes, 15 times") == {"15"}
    assert numbers("on the fourteenth of June, over two hundred guests") == {"14", "200"}
    assert numbers("forty percent, twenty-first, 1,200 and 3.5 at 10:30") == {
        "40",
        "21",
        "1200",
        "3.5",
        "10:30",
    }
    # In an answer "one of them", "at first" and "a second" are words.
    assert numbers("one of them, at first, for a second", answer=True) == set()


def test_a_text_said_again_gives_no_number_the_original_does_not() -> None:
    invented = "Maren Holt kept the light at Carrow Point for 12 years."
    for task in (Task.SUMMARIZE, Task.REWRITE):
        assert "numbers your text does not (12)" in check(task, invented).summary
    same_fact = "Maren Holt found that the Carrow Point light had been dark for 11 years."
    assert "numbers" not in check(Task.SUMMARIZE, same_fact).summary  # "eleven years"
    assert "numbers" not in check(Task.SUMMARIZE, same_fact, notes="Eleven.").summary
    from_notes = "Maren Holt came to Carrow Point in 1952 to light the lamp again."
    assert "numbers" in check(Task.SUMMARIZE, from_notes).summary
    assert "numbers" not in check(Task.SUMMARIZE, from_notes, notes=f"{NOTES} Year: 1952.").summary


# -- brainstorm, describe, continue ----------------------------------------------------


def test_brainstorm_needs_three_distinct_short_ideas() -> None:
    same = "- A new employee is hired.\n- A new employee is hired.\n- A new employee is hired."
    assert "1 distinct idea" in check(Task.BRAINSTORM, same).summary
    good = "- Maren finds a logbook.\n- A ship signals at night.\n- The lamp lights itself."
    assert check(Task.BRAINSTORM, good).passed


def test_an_idea_that_restates_the_text_is_not_an_idea() -> None:
    restating = (
        "- The lighthouse has not been lit in eleven years.\n"
        "- Maren finds a logbook.\n- A ship signals at night."
    )
    summary = check(Task.BRAINSTORM, restating).summary
    assert "2 distinct ideas (1 repeated your text)" in summary
    # Words of the text in a new idea are fine.
    own_words = (
        "- The lighthouse was lit by a stranger.\n"
        "- Maren finds a logbook.\n- A ship signals at night."
    )
    assert check(Task.BRAINSTORM, own_words).passed


def test_describe_stays_on_its_subject() -> None:
    subject = "an old lighthouse on a cliff"
    off = "A man with a beard and long white hair, who was the only one who could help."
    assert "something other than your subject" in check(Task.DESCRIBE, off, subject, "").summary
    on = "The lighthouse leans into the wind; salt crusts its windows and gulls cry below."
    assert check(Task.DESCRIBE, on, subject, "").passed


def test_a_description_names_its_subject_but_does_more_than_repeat_it() -> None:
    subject = "The lighthouse had not been lit in eleven years."
    echo = "The lighthouse had not been lit in eleven years."
    assert "repeated your subject" in check(Task.DESCRIBE, echo, subject, "").summary
    named = (
        "The lighthouse had not been lit in eleven years. Rust streaks its white tower and "
        "the lamp room is full of gulls' feathers."
    )
    assert check(Task.DESCRIBE, named, subject, "").passed


def test_a_description_of_the_examples_subject_is_a_copy() -> None:
    subject = "a fishing harbour at dawn"
    stray = "The old greenhouse had been a home for the harbour's fishermen for twenty years."
    reasons = check(Task.DESCRIBE, stray, subject, "").summary
    assert 'copied words from the instructions or examples ("old greenhouse")' in reasons
    own = "An old greenhouse by the harbour wall catches the first light of the morning."
    assert check(Task.DESCRIBE, own, "an old greenhouse by the harbour", "").passed


def test_an_empty_continuation_fails_with_a_reason() -> None:
    result = check_answer(Task.CONTINUE, "\n\n", source=STORY)
    assert not result.passed and result.reasons == ("The model wrote nothing usable.",)


def test_a_looping_continuation_fails() -> None:
    loop = " and she waited and she waited" * 6
    assert distinct_2(loop) < 0.6
    assert "round in circles" in check_answer(Task.CONTINUE, loop, source=STORY).summary


def test_a_continuation_repeating_the_text_before_fails() -> None:
    answer = "\n\nThe lighthouse had not been lit in eleven years. She sighed."
    assert (
        "repeated a sentence from your text"
        in check_answer(Task.CONTINUE, answer, source=STORY).summary
    )


def test_web_clutter_after_a_paragraph_break_fails() -> None:
    answer = "\n\n[The original message is available at: http://example.org/x] Posted on: May"
    assert not check_answer(Task.CONTINUE, answer, source=STORY).passed


def test_a_plain_continuation_passes() -> None:
    answer = "\n\nOn the eighth day she climbed to the lamp room and found the lens intact."
    assert check_answer(Task.CONTINUE, answer, source=STORY).passed


def test_a_continuation_talking_about_the_text_fails() -> None:
    answer = "\n\nThe original text was edited by John. It is an example of a concise style."
    assert "talks about the text" in check_answer(Task.CONTINUE, answer, source=STORY).summary
