from __future__ import annotations

from inference.runtime.stop_strings import StopStringFilter


def test_text_that_may_start_a_stop_string_is_held_back_then_released() -> None:
    stops = StopStringFilter(["<|im_end|>"])
    assert stops.feed("Hello <|im") == "Hello "
    assert stops.feed("portant") == "<|important"
    assert not stops.stopped


def test_stop_string_split_over_pieces_stops_without_showing_any_of_it() -> None:
    stops = StopStringFilter(["<|im_end|>"])
    shown = stops.feed("Done.<|im_") + stops.feed("end|> more")
    assert shown == "Done."
    assert stops.stopped
    assert stops.feed("later") == "" and stops.flush() == ""


def test_earliest_stop_wins_and_kept_stops_keep_their_text() -> None:
    stops = StopStringFilter(["\n", ". "], keep=[". "])
    assert stops.feed("One. Two\n") == "One."
    assert stops.stopped


def test_flush_releases_held_text_at_the_end() -> None:
    stops = StopStringFilter(["\n\n"])
    assert stops.feed("last line\n") == "last line"
    assert stops.flush() == "\n"
