"""Settings (Ctrl+,): one dialog with a page per area — Editor, Appearance, AI, Sync, License.

Every control writes through ``window.change_setting``, which saves settings.json at once and
applies the change live (the AI feature listens to ``window.settings_changed``). There is no
OK/Cancel: what you see is what is saved.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtGui import QFont, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFontComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.about import license_summary
from desktop.library import Library
from desktop.library.spelling import LANGUAGES
from desktop.settings import AI_DEVICES, THEMES, Settings
from desktop.ui.action_registry import ActionRegistry, RegisteredAction

logger = logging.getLogger(__name__)

PAGES = ("editor", "appearance", "ai", "sync", "license")
PAGE_TITLES = {
    "editor": "Editor",
    "appearance": "Appearance",
    "ai": "AI",
    "sync": "Sync",
    "license": "License",
}
DEVICE_LABELS = {
    "auto": "Automatic (best available)",
    "cpu": "Processor (CPU)",
    "cuda": "NVIDIA graphics card (CUDA)",
    "directml": "Graphics card (DirectML, Windows)",
    "coreml": "Apple Neural Engine (Core ML)",
}


class SettingsWindow(Protocol):
    """What the dialog needs from the main window."""

    settings: Settings
    library: Library
    registry: ActionRegistry
    settings_changed: SignalInstance  # (key) saved and applied

    def window(self) -> QWidget: ...

    def change_setting(self, key: str, value: object) -> None: ...

    def set_spelling_language(self, code: str) -> bool: ...

    def show_license(self) -> None: ...


class SettingsDialog(QDialog):
    page_shown = Signal(str)

    def __init__(self, window: SettingsWindow) -> None:
        super().__init__(window.window())
        self.window_ = window
        self.settings = window.settings
        self.setWindowTitle(self.tr("Settings"))
        self.setObjectName("SettingsDialog")
        self.resize(720, 500)
        self.pages = QListWidget()
        self.pages.setObjectName("SettingsPages")
        self.pages.setFixedWidth(150)
        self.pages.setSpacing(3)
        self.stack = QStackedWidget()
        builders = {
            "editor": self._editor_page,
            "appearance": self._appearance_page,
            "ai": self._ai_page,
            "sync": self._sync_page,
            "license": self._license_page,
        }
        for page in PAGES:
            self.pages.addItem(self.tr(PAGE_TITLES[page]))
            self.stack.addWidget(builders[page]())
        self.pages.currentRowChanged.connect(self._on_page)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        note = QLabel(self.tr("Changes apply and are saved at once."))
        note.setObjectName("SettingsNote")
        footer = QHBoxLayout()
        footer.addWidget(note, 1)
        footer.addWidget(buttons)
        body = QHBoxLayout()
        body.addWidget(self.pages)
        body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addLayout(footer)
        self.pages.setCurrentRow(0)
        window.settings_changed.connect(self._setting_changed)

    def _setting_changed(self, key: str) -> None:
        if key == "ai_model_dir":  # e.g. the Models dialog chose another default
            self.model_dir.setText(self.settings.get_str("ai_model_dir"))

    # ----- navigation ---------------------------------------------------------------------------
    def show_page(self, page: str) -> None:
        self.pages.setCurrentRow(PAGES.index(page) if page in PAGES else 0)

    def current_page(self) -> str:
        return PAGES[max(0, self.stack.currentIndex())]

    def _on_page(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        if PAGES[row] == "sync":
            self._fill_sync_page()
        elif PAGES[row] == "license":
            self._fill_license_page()
        self.page_shown.emit(PAGES[row])

    def _change(self, key: str, value: object) -> None:
        self.window_.change_setting(key, value)

    @staticmethod
    def _form(title: str) -> tuple[QWidget, QFormLayout]:
        page = QWidget()
        outer = QVBoxLayout(page)
        heading = QLabel(title)
        font = QFont(heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        heading.setFont(font)
        outer.addWidget(heading)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        outer.addLayout(form)
        outer.addStretch(1)
        return page, form

    # ----- Editor -------------------------------------------------------------------------------
    def _editor_page(self) -> QWidget:
        s = self.settings
        page, form = self._form(self.tr("Editor"))
        self.font_family = QFontComboBox()
        family = s.get_str("font_family")
        if family:
            self.font_family.setCurrentFont(QFont(family))
        else:
            self.font_family.setCurrentIndex(-1)
            self.font_family.setEditText(self.tr("Default serif"))
        self.font_family.currentFontChanged.connect(
            lambda font: self._change("font_family", font.family())
        )
        self.font_size = self._spin(8, 40, s.get_int("font_size"), " pt", "font_size")
        self.line_spacing = self._spin(100, 250, s.get_int("line_spacing"), " %", "line_spacing")
        self.line_spacing.setSingleStep(10)
        self.measure = self._spin(40, 160, s.get_int("measure_chars"), " characters", "")
        self.measure.valueChanged.connect(lambda v: self._change("measure_chars", v))
        self.smart = self._check(self.tr("Smart quotes and dashes"), "smart_typography")
        self.spell_check = self._check(self.tr("Check spelling as you type"), "spell_check")
        self.language = QComboBox()
        codes = list(LANGUAGES)
        for code in codes:
            self.language.addItem(LANGUAGES[code], code)
        current = self.window_.library.spelling_language()
        self.language.setCurrentIndex(codes.index(current) if current in codes else 0)
        self.language.currentIndexChanged.connect(
            lambda i: self.window_.set_spelling_language(codes[i])
        )
        self.goal = self._spin(0, 100_000, s.daily_word_goal(), " words", "daily_word_goal")
        self.goal.setSingleStep(100)
        self.goal.setSpecialValueText(self.tr("No goal"))
        form.addRow(self.tr("Font"), self.font_family)
        form.addRow(self.tr("Size"), self.font_size)
        form.addRow(self.tr("Line spacing"), self.line_spacing)
        form.addRow(self.tr("Text width"), self.measure)
        form.addRow("", self.smart)
        form.addRow("", self.spell_check)
        form.addRow(self.tr("Spelling language (this library)"), self.language)
        form.addRow(self.tr("Daily word goal"), self.goal)
        return page

    def _spin(self, low: int, high: int, value: int, suffix: str, key: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setValue(max(low, min(high, value)))
        spin.setSuffix(suffix)
        spin.setKeyboardTracking(False)  # apply when the number is complete, not per digit
        if key:
            spin.valueChanged.connect(lambda v: self._change(key, v))
        return spin

    def _check(self, title: str, key: str) -> QCheckBox:
        box = QCheckBox(title)
        box.setChecked(self.settings.get_bool(key))
        box.toggled.connect(lambda on: self._change(key, on))
        return box

    # ----- Appearance ---------------------------------------------------------------------------
    def _appearance_page(self) -> QWidget:
        page, form = self._form(self.tr("Appearance"))
        self.theme = QComboBox()
        labels = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
        for name in THEMES:
            self.theme.addItem(self.tr(labels[name]), name)
        self.theme.setCurrentIndex(THEMES.index(self.settings.theme()))
        self.theme.currentIndexChanged.connect(lambda i: self._change("theme", THEMES[i]))
        self.typewriter = self._check(
            self.tr("Keep the line you type centred in focus mode"), "typewriter_scrolling"
        )
        form.addRow(self.tr("Theme"), self.theme)
        form.addRow("", self.typewriter)
        return page

    def sync_from_settings(self) -> None:
        """Menu items change settings too: show their current values."""
        s = self.settings
        for widget, value in (
            (self.smart, s.get_bool("smart_typography")),
            (self.spell_check, s.get_bool("spell_check")),
            (self.suggest, s.get_bool("ai_suggest_after_pause")),
        ):
            widget.blockSignals(True)
            widget.setChecked(value)
            widget.blockSignals(False)
        for spin, number in (
            (self.font_size, s.get_int("font_size")),
            (self.goal, s.daily_word_goal()),
        ):
            spin.blockSignals(True)
            spin.setValue(number)
            spin.blockSignals(False)
        self.theme.blockSignals(True)
        self.theme.setCurrentIndex(THEMES.index(s.theme()))
        self.theme.blockSignals(False)
        self.model_dir.setText(s.get_str("ai_model_dir"))  # the Models dialog changes it too
        self.models_button.setEnabled(
            any(entry.id == "ai.models" for entry in self.window_.registry.all())
        )

    def showEvent(self, event: QShowEvent) -> None:
        self.sync_from_settings()
        if self.current_page() == "license":
            self._fill_license_page()
        super().showEvent(event)

    # ----- AI -----------------------------------------------------------------------------------
    def _ai_page(self) -> QWidget:
        s = self.settings
        page, form = self._form(self.tr("AI"))
        self.suggest = self._check(
            self.tr("Suggest a continuation after a pause in typing"), "ai_suggest_after_pause"
        )
        self.delay = QDoubleSpinBox()
        self.delay.setRange(0.2, 10.0)
        self.delay.setSingleStep(0.1)
        self.delay.setDecimals(1)
        self.delay.setSuffix(self.tr(" s"))
        self.delay.setValue(s.ai_suggest_delay_ms() / 1000)
        self.delay.setKeyboardTracking(False)
        self.delay.valueChanged.connect(
            lambda v: self._change("ai_suggest_delay_ms", round(v * 1000))
        )
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(1)
        self.temperature.setValue(s.ai_temperature())
        self.temperature.setKeyboardTracking(False)
        self.temperature.setToolTip(
            self.tr("0 always picks the likeliest words; higher is more surprising.")
        )
        self.temperature.valueChanged.connect(
            lambda v: self._change("ai_temperature", round(float(v), 2))
        )
        self.length = self._spin(
            8, 400, s.ai_suggestion_tokens(), self.tr(" tokens"), "ai_suggestion_tokens"
        )
        self.length.setToolTip(self.tr("About ¾ of a word per token in English."))
        self.device = QComboBox()
        for device in AI_DEVICES:
            self.device.addItem(self.tr(DEVICE_LABELS[device]), device)
        self.device.setCurrentIndex(AI_DEVICES.index(s.ai_device()))
        self.device.currentIndexChanged.connect(lambda i: self._change("ai_device", AI_DEVICES[i]))
        self.model_dir = QLineEdit(s.get_str("ai_model_dir"))
        self.model_dir.setPlaceholderText(self.tr("The built-in model"))
        self.model_dir.editingFinished.connect(
            lambda: self._change("ai_model_dir", self.model_dir.text().strip())
        )
        browse = QPushButton(self.tr("Choose…"))
        browse.clicked.connect(self._choose_model_dir)
        reset = QPushButton(self.tr("Use built-in"))
        reset.clicked.connect(lambda: self._set_model_dir(""))
        # The folder has the row's whole width (a path is long); its buttons go beneath it.
        folder_buttons = QHBoxLayout()
        folder_buttons.addWidget(browse)
        folder_buttons.addWidget(reset)
        # The AI feature's Models dialog (Settings > AI > Models…): list, add, remove, choose.
        self.models_button = QPushButton(self.tr("Models…"))
        self.models_button.setObjectName("SettingsButton.ai.models")
        self.models_button.clicked.connect(lambda: self.window_.registry.trigger("ai.models"))
        folder_buttons.addWidget(self.models_button)
        folder_buttons.addStretch(1)
        self.threads = self._spin(0, 64, s.get_int("ai_threads"), "", "ai_threads")
        self.threads.setSpecialValueText(self.tr("Automatic"))
        form.addRow("", self.suggest)
        form.addRow(self.tr("Pause before suggesting"), self.delay)
        form.addRow(self.tr("Creativity (temperature)"), self.temperature)
        form.addRow(self.tr("Suggestion length"), self.length)
        form.addRow(self.tr("Run the model on"), self.device)
        form.addRow(self.tr("Model folder"), self.model_dir)
        form.addRow("", folder_buttons)
        form.addRow(self.tr("Threads"), self.threads)
        hint = QLabel(
            self.tr("Device, model folder and threads reload the model; the rest apply at once.")
        )
        hint.setWordWrap(True)
        form.addRow("", hint)
        return page

    def _choose_model_dir(self) -> None:
        start = self.model_dir.text().strip() or str(Path.home())
        chosen = QFileDialog.getExistingDirectory(self, self.tr("Choose the model folder"), start)
        if chosen:
            self._set_model_dir(chosen)

    def _set_model_dir(self, folder: str) -> None:
        self.model_dir.setText(folder)
        self._change("ai_model_dir", folder)

    # ----- Sync and License: the existing dialogs -----------------------------------------------
    def _sync_page(self) -> QWidget:
        page, form = self._form(self.tr("Sync"))
        self.sync_intro = QLabel()
        self.sync_intro.setWordWrap(True)
        form.addRow(self.sync_intro)
        self.sync_buttons = QVBoxLayout()
        form.addRow(self.sync_buttons)
        return page

    def sync_actions(self) -> list[RegisteredAction]:
        return [e for e in self.window_.registry.all() if e.id.startswith("sync.")]

    def _fill_sync_page(self) -> None:
        while self.sync_buttons.count():
            item = self.sync_buttons.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        actions = self.sync_actions()
        if not actions:
            self.sync_intro.setText(self.tr("Sync is still loading, or isn't part of this build."))
            return
        self.sync_intro.setText(
            self.tr(
                "Keep this library in step with your other computers through your own "
                "WebDAV server. The same commands as in Settings › Sync:"
            )
        )
        self.window_.registry.refresh_enabled()
        for entry in actions:
            title = entry.action.text().replace("&", "")
            control: QWidget
            if entry.action.isCheckable():  # an on/off option, e.g. sync on this device
                box = QCheckBox(title)
                box.setChecked(entry.action.isChecked())
                box.toggled.connect(entry.action.setChecked)
                entry.action.toggled.connect(box.setChecked)
                control = box
            else:
                button = QPushButton(title)
                button.clicked.connect(entry.action.trigger)
                control = button
            control.setObjectName(f"SettingsButton.{entry.id}")
            control.setEnabled(entry.action.isEnabled())
            self.sync_buttons.addWidget(control, 0, Qt.AlignmentFlag.AlignLeft)

    def _license_page(self) -> QWidget:
        page, form = self._form(self.tr("License"))
        intro = QLabel(
            self.tr("Your license key, trial and the computers using it are in the license window.")
        )
        intro.setWordWrap(True)
        self.license_state = QLabel()
        self.license_state.setObjectName("LicenseState")
        self.license_state.setWordWrap(True)
        self.license_button = QPushButton(self.tr("Open license…"))
        self.license_button.clicked.connect(self.window_.show_license)
        form.addRow(self.license_state)
        form.addRow(intro)
        button_row = QHBoxLayout()  # its natural width, as the Sync page's buttons
        button_row.addWidget(self.license_button)
        button_row.addStretch(1)
        form.addRow(button_row)
        return page

    def _fill_license_page(self) -> None:
        # Each time the page shows: activation or a refund may have changed it since.
        self.license_state.setText(license_summary())
