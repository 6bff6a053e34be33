"""The verdict on a task's answer before it may touch the document.

Every answer the runtime returns carries an ``AnswerCheck``: whether it passed the task's
rules, the reasons in plain words when it did not, which method wrote the text (the model, or a
method that cannot invent such as an extractive shorten) and how many attempts it took. The
editor lets a failing answer reach the manuscript only after an explicit "Use anyway"."""

from __future__ import annotations

from dataclasses import dataclass

# Who wrote the text of an answer.
METHOD_MODEL = "model"
METHOD_EXTRACTIVE = "extractive"


@dataclass(frozen=True)
class AnswerCheck:
    passed: bool = True
    reasons: tuple[str, ...] = ()
    method: str = METHOD_MODEL
    attempts: int = 1

    @property
    def summary(self) -> str:
        """The reasons as one sentence-like line for a status bar or a pane."""
        return " ".join(self.reasons)
