"""The AI pane's own behaviour: a failing answer is marked and needs "Use anyway"; restart
messages read as one sentence; the status-bar notice stays one line."""

from __future__ import annotations

from typing import Any

from desktop.ui.ai_panes import AINotice, TaskPane, restart_message
from inference.runtime import AnswerCheck, StopReason


def test_restart_messages_say_once_what_happens_next() -> None:
    said = restart_message("It is longer than the text it shortens. Writing it again…")
    assert said.lower().count("again") == 1
    assert restart_message("it looped") == "Writing it again: It looped."
    used = restart_message("It repeats a sentence. Using sentences from your text instead.")
    assert used == "It repeats a sentence. Using sentences from your text instead."


def test_a_failing_answer_asks_before_each_use_until_use_anyway(qtbot: Any) -> None:
    pane = TaskPane()
    qtbot.addWidget(pane)
    pane.show()
    used: list[str] = []
    pane.replace_requested.connect(
        lambda: used.append("replace") if pane.may_use(pane.replace_requested) else None
    )
    pane.start("Shorten")
    assert pane.state.isVisible() and not pane.replace_button.isEnabled()
    pane.append("A long answer.")
    pane.finish(
        "A long answer.", StopReason.END_TOKEN, AnswerCheck(False, ("It is longer than the text",))
    )
    assert not pane.state.isVisible(), "nothing to say: no empty line"
    assert pane.verdict.isVisible() and "It is longer than the text." in pane.verdict.text()
    assert pane.replace_button.text() == "Replace…" and pane.needs_confirmation()
    pane.replace_button.click()
    assert used == [] and pane.confirm.isVisible()
    pane.use_anyway_button.click()
    assert used == ["replace"] and not pane.confirm.isVisible()

    pane.start("Shorten")  # a new answer starts unjudged and unconfirmed
    assert not pane.verdict.isVisible() and not pane.confirm.isVisible()
    pane.finish("", StopReason.END_TOKEN, AnswerCheck())
    assert "nothing usable" in pane.state.text() and not pane.replace_button.isEnabled()


def test_the_notice_stays_one_line_with_the_whole_text_as_tooltip(qtbot: Any) -> None:
    notice = AINotice()
    qtbot.addWidget(notice)
    notice.resize(300, 40)
    notice.show()
    message = "AI help is not available: " + "no model has been built yet, " * 8 + "build it."
    notice.show_message(message, hint="Settings > AI > Build model…")
    qtbot.wait(10)
    assert "\n" not in notice.label.text() and notice.label.text().endswith("…")
    assert notice.label.height() < 2 * notice.label.fontMetrics().lineSpacing()
    assert message in notice.label.toolTip() and "Build model" in notice.label.toolTip()
    assert notice.message() == message
    notice.dismiss()
    assert notice.message() == ""
