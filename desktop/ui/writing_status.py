"""Status-bar widgets: words (document / selection), today's goal, reading time, save state."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

from desktop.library.word_count import reading_minutes


class WritingStatus(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.words = QLabel()
        self.today = QLabel()
        self.goal_bar = QProgressBar()
        self.goal_bar.setObjectName("GoalBar")
        self.goal_bar.setTextVisible(False)
        self.reading = QLabel()
        self.save_state = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 12, 0)
        for widget in (self.save_state, self.words, self.reading, self.today, self.goal_bar):
            layout.addWidget(widget)

    def show_counts(
        self, document_words: int, selection_words: int | None, cjk_characters: int = 0
    ) -> None:
        """``cjk_characters``: how many of the document's words are CJK characters (each
        counts as a word, and they read faster than words)."""
        unit = "word" if document_words == 1 else "words"
        if selection_words:
            self.words.setText(f"{selection_words:,} of {document_words:,} {unit}")
        else:
            self.words.setText(f"{document_words:,} {unit}")
        minutes = reading_minutes(document_words, cjk_characters)
        self.reading.setText(f"{minutes} min read" if minutes else "")

    def show_goal(self, today: int, goal: int, ai_words: int = 0) -> None:
        """``today``: the writer's own words; ``ai_words``: accepted from AI, shown apart and
        not counted towards the goal."""
        from_ai = f" written + {ai_words:,} from AI" if ai_words else ""
        if goal <= 0:
            self.today.setText(f"Today {today:,}{from_ai}")
            self.goal_bar.hide()
            return
        self.goal_bar.show()
        self.goal_bar.setRange(0, goal)
        self.goal_bar.setValue(min(today, goal))
        done = " ✓" if today >= goal else ""
        self.today.setText(f"Today {today:,} / {goal:,}{from_ai}{done}")
        self.today.setToolTip(
            "Your own words today towards the daily goal; words accepted from AI suggestions "
            "are counted apart."
        )

    def show_save_state(self, text: str) -> None:
        if self.save_state.text() != text:  # called on every keystroke: avoid relayouts
            self.save_state.setText(text)
