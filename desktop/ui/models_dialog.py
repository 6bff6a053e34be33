"""Settings > AI > Models…: the built models in a table — which one answers, add one from a
GGUF file (built in its own process, with progress and cancel), measure its speed here, make
it the default, remove it.

A thin layer over ``inference.model_registry``; the choice is the ``ai_model_dir`` setting,
saved and applied through ``window.change_setting`` like every other setting."""

from __future__ import annotations

import contextlib
import logging
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.window_activation import present
from desktop.ui.window_seam import EditorWindow
from inference.model_registry import (
    ModelEntry,
    ModelRegistry,
    ModelRemovalError,
    SpeedRecord,
    describe_size,
    measure_speed,
    model_tools_missing,
)
from inference.runtime import RuntimeSettings

if TYPE_CHECKING:
    from desktop.ui.ai_build_dialog import ModelBuildDialog

logger = logging.getLogger(__name__)

COLUMNS = (
    "Default",
    "Name",
    "Architecture",
    "Quantization",
    "Size on disk",
    "Context",
    "Speed here",
    "License",
)
MEASURE_JOIN_SECONDS = 60.0


class ModelsOwner(Protocol):
    """What the dialog needs from the AI feature that opens it."""

    window: EditorWindow
    build_dialog: ModelBuildDialog | None  # a running build: the cache watch waits for it
    runtime_settings: RuntimeSettings | None

    def model_in_use(self) -> Path | None: ...

    def models_changed(self) -> None: ...


class ModelsDialog(QDialog):
    # (folder, SpeedRecord or None, error message): from the measuring thread
    _measured = Signal(str, object, str)
    # the list was filled again (tests and the screenshot wait on it)
    refreshed = Signal()
    # a speed measurement ended: (folder, error or "")
    measured = Signal(str, str)

    def __init__(self, owner: ModelsOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.owner = owner
        self.setWindowTitle(self.tr("AI models"))
        self.setObjectName("ModelsDialog")
        self.resize(900, 360)
        self.entries: list[ModelEntry] = []
        self.measuring: set[str] = set()
        self._threads: list[threading.Thread] = []
        self.add_dialog: ModelBuildDialog | None = None

        intro = QLabel(
            self.tr(
                "The models built on this computer. The default one answers in the editor "
                "(the status bar names it); a larger model writes better and runs slower."
            )
        )
        intro.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("ModelsTable")
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.message = QLabel("")
        self.message.setObjectName("ModelsMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.add_button = QPushButton(self.tr("Add from GGUF…"))
        self.default_button = QPushButton(self.tr("Set as default"))
        self.measure_button = QPushButton(self.tr("Measure speed"))
        self.remove_button = QPushButton(self.tr("Remove…"))
        close = QPushButton(self.tr("Close"))
        self.add_button.clicked.connect(lambda: self.add_from_gguf())
        self.default_button.clicked.connect(self.set_default)
        self.measure_button.clicked.connect(self.measure_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.default_button, self.measure_button):
            buttons.addWidget(button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self._measured.connect(self._on_measured)
        owner.window.settings_changed.connect(self._setting_changed)
        self.refresh()

    # ----- the list -----------------------------------------------------------------------------
    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.owner.window.settings.ai_model_dir())

    def refresh(self, select: Path | None = None) -> None:
        current = self.selected()
        keep = select or (current.path if current else None)
        registry = self.registry()
        self.entries = registry.models()
        default = registry.default(self.entries)
        in_use = self.owner.model_in_use()
        self.table.setRowCount(len(self.entries))
        bold = QFont(self.table.font())
        bold.setBold(True)
        for row, entry in enumerate(self.entries):
            is_default = default is not None and default.path == entry.path
            name = entry.name
            if entry.bundled:
                name += self.tr(" (comes with Draftsmith)")
            elif entry.built_in:
                name += self.tr(" (built-in)")
            if in_use is not None and _same(in_use, entry.path):
                name += self.tr(" — answering now")
            variants = ", ".join(entry.variants)
            cells = (
                "✓" if is_default else "",
                name,
                entry.architecture,
                f"{entry.quantization or self.tr('not recorded')} → {variants}",
                describe_size(entry.size_bytes),
                self.tr("{0} tokens").format(f"{entry.context_length:,}"),
                self._speed_text(entry),
                entry.license or self.tr("not recorded"),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, str(entry.path))
                item.setToolTip(self._tooltip(entry, column))
                if is_default:
                    item.setFont(bold)
                self.table.setItem(row, column, item)
        if not self.entries:
            self.message.setText(
                self.tr("No model is built yet. Add one from a GGUF file, or build the default.")
            )
        rows = [i for i, e in enumerate(self.entries) if keep is not None and e.path == keep]
        if rows:
            self.table.selectRow(rows[0])
        self._update_buttons()
        self.refreshed.emit()

    def _speed_text(self, entry: ModelEntry) -> str:
        if str(entry.path) in self.measuring:
            return self.tr("measuring…")
        if entry.speed is None:
            return self.tr("not measured")
        return self.tr("{0} tokens/s").format(f"{entry.speed.tokens_per_second:.0f}")

    def _tooltip(self, entry: ModelEntry, column: int) -> str:
        if column == 3:
            return "\n".join(
                f"{name}: {variant.get('weights', '')}"
                for name, variant in entry.folder.variants.items()
            )
        if column == 6 and entry.speed is not None:
            return self.tr("Measured on {0}, {1}").format(
                entry.speed.device, entry.speed.measured_at
            )
        return str(entry.path)

    def selected(self) -> ModelEntry | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self.entries):
            return None
        return self.entries[rows[0].row()]

    def select(self, path: Path) -> bool:
        for row, entry in enumerate(self.entries):
            if _same(entry.path, path):
                self.table.selectRow(row)
                return True
        return False

    def _update_buttons(self) -> None:
        entry = self.selected()
        self.default_button.setEnabled(entry is not None)
        self.measure_button.setEnabled(entry is not None and str(entry.path) not in self.measuring)
        self.remove_button.setEnabled(entry is not None and entry.removable)
        if entry is not None and not entry.removable:
            self.remove_button.setToolTip(
                self.tr("The model that comes with Draftsmith can't be removed.")
            )
        else:
            self.remove_button.setToolTip("")

    def _setting_changed(self, key: str) -> None:
        if key == "ai_model_dir" and self.isVisible():
            self.refresh()

    # ----- add --------------------------------------------------------------------------------
    def add_from_gguf(self, gguf: Path | None = None) -> ModelBuildDialog | None:
        """Ask for a GGUF file and build it in its own process; None when nothing starts."""
        from desktop.ui.ai_build_dialog import ModelBuildDialog

        missing = model_tools_missing()
        if missing:
            self.message.setText(missing)
            return None
        if self.add_dialog is not None and self.add_dialog.running():
            self.message.setText(self.tr("A model is being added already; wait for it first."))
            present(self.add_dialog)
            return None
        if gguf is None:
            gguf = self.owner.window.prompter.ask_open_path(
                self.tr("Add a model from a GGUF file"),
                Path.home(),
                self.tr("GGUF models (*.gguf);;All files (*)"),
            )
            if gguf is None:
                return None
        self.message.setText("")
        dialog = ModelBuildDialog(
            self,
            [str(gguf)],
            title=self.tr("Add a model"),
            explanation=self.tr(
                "Building {0} into a Draftsmith model on this computer. This takes a few "
                "minutes for a small model, longer for a large one, and needs about three times "
                "the file's size in free disk space while it runs. You can keep writing."
            ).format(gguf.name),
        )
        self.add_dialog = dialog
        self.owner.build_dialog = dialog  # the cache watch leaves the new folder to us
        dialog.finished_build.connect(partial(self._added, dialog))
        present(dialog)
        dialog.start()
        return dialog

    def _added(self, dialog: ModelBuildDialog, ok: bool) -> None:
        self.owner.models_changed()
        self.refresh(select=dialog.built_path)
        if not ok:
            if not dialog.cancelled:
                self.message.setText(dialog.state.text())
            return
        entry = next((e for e in self.entries if _same(e.path, dialog.built_path)), None)
        if entry is not None:
            self.message.setText(
                self.tr("“{0}” is added. Measuring its speed on this computer…").format(entry.name)
            )
            self.measure(entry)

    # ----- default ----------------------------------------------------------------------------
    def set_default(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        value = self.registry().setting_for(entry)
        if value == self.owner.window.settings.get_str("ai_model_dir"):
            self.message.setText(self.tr("“{0}” is the default already.").format(entry.name))
            return
        self.owner.window.change_setting("ai_model_dir", value)
        self.message.setText(
            self.tr("“{0}” is the default now; it answers as soon as it has loaded.").format(
                entry.name
            )
        )
        self.refresh(select=entry.path)

    # ----- speed ------------------------------------------------------------------------------
    def measure_selected(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.measure(entry)

    def measure(self, entry: ModelEntry) -> None:
        """Measure ``entry``'s writing speed here, on its own thread (a few seconds)."""
        key = str(entry.path)
        if key in self.measuring:
            return
        self.measuring.add(key)
        settings = self.owner.runtime_settings or RuntimeSettings()
        emit = self._measured.emit

        def work() -> None:
            try:
                record = measure_speed(entry.path, settings.device, settings.threads)
            except Exception as error:  # shown in the dialog, in the runtime's own words
                logger.info("Measuring %s failed: %s", entry.path, error)
                result: tuple[str, SpeedRecord | None, str] = (key, None, str(error))
            else:
                result = (key, record, "")
            with contextlib.suppress(RuntimeError):  # the dialog is gone (app closing)
                emit(*result)

        thread = threading.Thread(target=work, name="draftsmith-measure-speed", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        self.refresh()

    def _on_measured(self, key: str, record: SpeedRecord | None, error: str) -> None:
        self.measuring.discard(key)
        self.refresh()
        entry = next((e for e in self.entries if str(e.path) == key), None)
        name = entry.name if entry else key
        if record is None:
            self.message.setText(self.tr("Could not measure “{0}”: {1}").format(name, error))
        else:
            self.message.setText(
                self.tr("“{0}” writes {1} tokens/s here ({2}).").format(
                    name, f"{record.tokens_per_second:.0f}", record.device
                )
            )
        self.measured.emit(key, error)

    # ----- remove -----------------------------------------------------------------------------
    def remove_selected(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        prompter = self.owner.window.prompter
        if not entry.removable:
            self.message.setText(
                self.tr("“{0}” comes with Draftsmith and can't be removed.").format(entry.name)
            )
            return
        in_use = self.owner.model_in_use()
        answering = in_use is not None and _same(in_use, entry.path)
        question = self.tr(
            "Remove “{0}” ({1})? Its folder is deleted from this computer:\n{2}"
        ).format(entry.name, describe_size(entry.size_bytes), entry.path)
        if answering:
            question += self.tr(
                "\n\nIt is answering in the editor now; the built-in model takes over."
            )
        if not prompter.confirm(self.tr("Remove model"), question):
            return
        chosen = self.owner.window.settings.ai_model_dir()
        try:
            self.registry().remove(entry, in_use=in_use, confirmed=True)
        except ModelRemovalError as error:
            self.message.setText(str(error))
            return
        if chosen is not None and _same(chosen, entry.path):
            self.owner.window.change_setting("ai_model_dir", "")  # back to the built-in model
        self.owner.models_changed()
        self.message.setText(self.tr("“{0}” is removed.").format(entry.name))
        self.refresh()

    # ----- closing ----------------------------------------------------------------------------
    def stop_work(self) -> None:
        """Cancel an add and wait for speed measurements (window closing)."""
        if self.add_dialog is not None and self.add_dialog.running():
            self.add_dialog.cancel()
        for thread in self._threads:
            thread.join(MEASURE_JOIN_SECONDS)
        self._threads = []


def _same(a: Path | None, b: Path | None) -> bool:
    if a is None or b is None:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return Path(a) == Path(b)
