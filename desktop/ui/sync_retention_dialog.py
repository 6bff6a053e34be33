"""Settings › Sync › *Old versions on the sync server…*: how long the library's sync folder keeps
old versions (every version for some days, then one a day, then one a month; or all)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from desktop.sync.retention import RetentionPolicy


class RetentionDialog(QDialog):
    def __init__(self, policy: RetentionPolicy, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Old versions on the sync server")
        self.keep_all = QSpinBox(minimum=1, maximum=3650, suffix=" days")
        self.keep_all.setValue(policy.keep_all_days)
        self.daily = QSpinBox(minimum=1, maximum=36500, suffix=" days old")
        self.daily.setValue(policy.daily_days)
        self.everything = QCheckBox("Keep every version (the sync folder only grows)")
        self.everything.setChecked(policy.keep_everything)
        self.summary = QLabel(wordWrap=True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        intro = QLabel(
            "For the whole library, on every device. Current texts and conflict copies are "
            "always kept. Older versions thin out once a day; none leaves the server before "
            "every device has synced since.",
            wordWrap=True,
        )
        form.addRow(intro)
        form.addRow("Keep every version for", self.keep_all)
        form.addRow("then one a day until", self.daily)
        form.addRow("", QLabel("then one a month."))
        form.addRow(self.everything)
        form.addRow(self.summary)
        form.addRow(self.buttons)
        for spin in (self.keep_all, self.daily):
            spin.valueChanged.connect(self._update)
        self.everything.toggled.connect(self._update)
        self._update()

    def policy(self) -> RetentionPolicy | None:
        """The policy as set, or None if the numbers make no sense."""
        try:
            return RetentionPolicy(
                keep_all_days=self.keep_all.value(),
                daily_days=self.daily.value(),
                keep_everything=self.everything.isChecked(),
            )
        except ValueError:
            return None

    def _update(self) -> None:
        policy = self.policy()
        for spin in (self.keep_all, self.daily):
            spin.setEnabled(not self.everything.isChecked())
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(policy is not None)
        self.summary.setText(
            policy.describe()
            if policy is not None
            else "Keep daily versions at least as long as every version."
        )
