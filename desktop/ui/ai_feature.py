"""AI help in the editor: ghost-text continuation, writing tasks on a selection, document
notes, and honest status about the model and the device.

Installed after the window is up (``install_ai(window)``); the model loads on its own thread
and every action stays disabled, with the reason as its tooltip, until it is ready. Nothing
the writer types is logged."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import QApplication, QMenu

from desktop.ui.ai_model_watch import WATCH_INTERVAL_MS, ModelCacheWatch
from desktop.ui.ai_panes import (
    AIModelLabel,
    AINotice,
    AIStatus,
    NotesPane,
    TaskPane,
    restart_message,
)
from desktop.ui.ai_worker import JobResult, ModelHost

if TYPE_CHECKING:
    from desktop.settings import Settings
    from desktop.ui.ai_build_dialog import ModelBuildDialog
    from desktop.ui.learn_style_dialog import LearnStyleDialog
    from desktop.ui.models_dialog import ModelsDialog
    from desktop.ui.open_document import OpenDocument
from desktop.ui.document_editor import DocumentEditor
from desktop.ui.window_activation import present
from desktop.ui.window_seam import EditorWindow
from inference.model_cache import installed_app
from inference.model_folder import find_default_model
from inference.runtime import TONES, AnswerCheck, GenerationRequest, RuntimeSettings, Task
from inference.runtime.answer_check import METHOD_EXTRACTIVE
from inference.runtime.tasks import CONTINUE_SAMPLING
from licensing.client import feature_status

logger = logging.getLogger(__name__)

CONTEXT_BEFORE_CHARS = 12_000
CONTEXT_AFTER_CHARS = 2_000
MAX_BACKOFF = 4.0
# After this much quiet the prompt for a continuation is prefilled, so the suggestion is quick.
WARM_DELAY_MS = 300
# How long a short status-bar message ("No suggestion here…") stays.
STATUS_MESSAGE_MS = 6_000

# (action id, title, task, shortcut)
TASK_ACTIONS: list[tuple[str, str, Task, str | None]] = [
    ("ai.rewrite", "Rewrite", Task.REWRITE, "Ctrl+Alt+R"),
    ("ai.shorten", "Shorten", Task.SHORTEN, "Ctrl+Alt+-"),
    ("ai.expand", "Expand", Task.EXPAND, "Ctrl+Alt+="),
    ("ai.describe", "Describe", Task.DESCRIBE, "Ctrl+Alt+D"),
    ("ai.summarize", "Summarize", Task.SUMMARIZE, "Ctrl+Alt+U"),
    ("ai.brainstorm", "Brainstorm", Task.BRAINSTORM, "Ctrl+Alt+B"),
]

ACTION_TASKS = {action_id: task for action_id, _title, task, _shortcut in TASK_ACTIONS}
ACTION_TASKS["ai.continue"] = Task.CONTINUE

# What the pane says when an answer was written by a method that cannot invent.
EXTRACTIVE_NOTES = {
    Task.SHORTEN: "Shortened by keeping your most important sentences, in their order.",
    Task.SUMMARIZE: "Summarized by keeping your most important sentences, in their order.",
}
EXTRACTIVE_NOTE = "Written by keeping your most important sentences, in their order."


def method_note(task: Task, check: AnswerCheck, title: str = "", weak_note: str = "") -> str:
    """One line under the answer: who wrote it when it was not the model, or, when the
    model's answer failed at a task it is known to do poorly (``weak_note``), what would do
    better."""
    if check.method == METHOD_EXTRACTIVE:
        return EXTRACTIVE_NOTES.get(task, EXTRACTIVE_NOTE)
    if weak_note and not check.passed:
        name = "Change tone" if task is Task.CHANGE_TONE else title
        return f"{name} {weak_note}: Settings › AI › Models… adds one from a GGUF file you have."
    return ""


@dataclass
class GhostJob:
    job_id: int
    editor: DocumentEditor
    position: int


@dataclass
class TaskJob:
    job_id: int
    editor: DocumentEditor
    start: int
    end: int
    selection: str
    request: GenerationRequest
    title: str


class AIFeature(QObject):
    def __init__(
        self,
        window: EditorWindow,
        *,
        model_path: Path | None = None,
        runtime_settings: RuntimeSettings | None = None,
        ghost_delay_ms: int = 1000,
        auto_ghost: bool = True,
        suggestion_tokens: int = 60,
        task_tokens: int | None = None,
        load_delay_ms: int = 0,
        temperature: float | None = None,  # of suggestions; None: the runtime's default
        model_watch_ms: int = WATCH_INTERVAL_MS,
        model_process: bool = True,  # the model in its own process (see ai_worker.py)
    ) -> None:
        super().__init__(window.window())
        self.window = window
        # The window as a widget (parent of menus and dialogs); kept, so the event filter can
        # recognise it by identity even while Qt is deleting it.
        self.window_widget = window.window()
        self.model_path = model_path
        self.runtime_settings = runtime_settings
        self.ghost_delay_ms = ghost_delay_ms
        self.auto_ghost = auto_ghost
        self.suggestion_tokens = suggestion_tokens
        self.task_tokens = task_tokens  # None: each task's own default length
        self.temperature = temperature
        self.ready = False
        self.reason = "The AI model is loading…"
        self.dismissals = 0
        self.ghost_job: GhostJob | None = None
        self.task_job: TaskJob | None = None
        self.last_request: GenerationRequest | None = None
        self._wired: set[int] = set()
        self.build_dialog: ModelBuildDialog | None = None
        self.learn_dialog: LearnStyleDialog | None = None
        self.models_dialog: ModelsDialog | None = None
        self._notes_document: OpenDocument | None = None  # whose notes the pane shows

        self.host = ModelHost(self, separate_process=model_process)
        host = self.host
        host.loaded.connect(self._on_loaded)
        host.load_failed.connect(self._on_load_failed)
        host.chunk.connect(self._on_chunk)
        host.finished.connect(self._on_finished)
        host.failed.connect(self._on_failed)
        host.restarted.connect(self._on_restarted)
        host.reloading.connect(self._on_reloading)
        self._reload_pending = False  # a new model is in the cache; load it when idle
        self._announce_load = False  # say in the status bar when the reloaded model is ready
        self._said = ""  # the status-bar message this feature put up last

        self.status = AIStatus()
        self.notice = AINotice()
        self.model_label = AIModelLabel()  # which model answers
        window.add_status_widget(self.status)
        # On the left, where a status message takes its place while it shows: beside the
        # permanent items a message had ~260 px of a 1200 px window and was cut off.
        window.add_status_widget(self.model_label, permanent=False)
        window.add_status_widget(self.notice, permanent=False)
        self.task_pane = TaskPane()
        self.notes_pane = NotesPane()
        window.add_sidebar_pane("ai", "AI", self.task_pane)
        window.add_sidebar_pane("notes", "Notes", self.notes_pane)
        self.task_pane.replace_requested.connect(self.replace_with_result)
        self.task_pane.insert_requested.connect(self.insert_result_below)
        self.task_pane.retry_requested.connect(self.try_again)
        self.task_pane.stop_requested.connect(self.stop)
        self.notes_pane.save_due.connect(self.save_notes)

        self.ghost_timer = QTimer(self)
        self.ghost_timer.setSingleShot(True)
        self.ghost_timer.timeout.connect(self._pause_elapsed)

        self.warm_timer = QTimer(self)
        self.warm_timer.setSingleShot(True)
        self.warm_timer.setInterval(WARM_DELAY_MS)
        self.warm_timer.timeout.connect(self.warm_cache)

        self._register_actions()
        window.current_editor_changed.connect(self._editor_changed)
        window.settings_changed.connect(self.apply_setting)
        self.window_widget.installEventFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._editor_changed(window.current_editor())
        self.status.loading()
        self.load_timer = QTimer(self)
        self.load_timer.setSingleShot(True)
        self.load_timer.timeout.connect(self.load_model)
        self.load_timer.start(load_delay_ms)
        self.model_watch = ModelCacheWatch(model_path, model_watch_ms, self)
        self.model_watch.changed.connect(self._model_files_changed)

    # ----- model lifecycle --------------------------------------------------------------------
    def load_model(self) -> None:
        self._reload_pending = False
        self.model_watch.model_path = self.model_path  # Settings may have chosen another
        self.model_watch.loading()
        self.ready = False
        self.reason = "The AI model is loading…"
        self.status.loading()
        self._refresh_actions()
        self.host.load(self.model_path, self.runtime_settings)

    def _on_loaded(self, device_label: str) -> None:
        self.ready = True
        self.reason = ""
        self.status.ready(device_label)
        folder = self.host.model_folder
        self.model_label.show_model(self.host.model_name, str(folder) if folder else "")
        if self.models_dialog is not None and self.models_dialog.isVisible():
            self.models_dialog.refresh()  # "answering now" moves to this model
        local = "The AI model runs on this computer; nothing leaves it."
        hint = self.host.gpu_hint  # an NVIDIA card the AI does not use: what to install
        self.status.setToolTip(f"{local}\n\n{hint}" if hint else local)
        self.notice.dismiss()
        self._mark_weak_tasks()
        self._refresh_actions()
        if self._announce_load:
            self._announce_load = False
            self.say("The new AI model is loaded and ready.")
        elif hint:  # short: the status bar is narrow; the label's tooltip has the details
            self.say("The AI isn't using your NVIDIA card: point at “AI:” for what to install.")
        self.warm_timer.start()  # the open document's context, while the writer reads
        logger.info("AI model ready on %s", device_label)

    def _on_reloading(self) -> None:
        """The model's process died (the request it ran failed with a plain message): the
        model loads again by itself."""
        self.ready = False
        self.reason = "The AI model is loading…"
        self.status.loading()
        self._refresh_actions()

    def _on_load_failed(self, message: str) -> None:
        self.ready = False
        self.reason = message
        self.status.unavailable(message)
        self.model_label.clear_model()
        hint = (
            ""
            if installed_app()  # the installed app carries its model and no build tools
            else "Settings > AI > Build model… builds it here. A model built or copied into "
            "the model cache is picked up without a restart."
        )
        self.notice.show_message(f"AI help is not available: {message}", hint=hint)
        self._announce_load = False
        self._refresh_actions()

    def _model_files_changed(self) -> None:
        """A model appeared in the cache (or was rebuilt): load it as soon as nothing runs."""
        if self.build_dialog is not None and self.build_dialog.running():
            return  # the dialog loads it when the build finishes
        self._reload_pending = True
        self._reload_when_idle()

    def _reload_when_idle(self) -> None:
        if not self._reload_pending or self.host.busy():
            return
        self._announce_load = True
        self.say("Found a new AI model; loading it…")
        self.load_model()

    def say(self, message: str) -> None:
        """A short message in the status bar, in plain words (it goes away by itself)."""
        self._said = message
        self.window.statusBar().showMessage(message, STATUS_MESSAGE_MS)

    def _unsay(self) -> None:
        """A new request: an old message about the last one would mislead."""
        if self._said and self.window.statusBar().currentMessage() == self._said:
            self.window.statusBar().clearMessage()
        self._said = ""

    def shutdown(self) -> None:
        """Cancel any generation and join the model thread (window closing or app quitting)."""
        if self._notes_document is not None and self.notes_pane.timer.isActive():
            self.save_notes()
        self.ghost_timer.stop()
        self.warm_timer.stop()
        self.load_timer.stop()
        self.model_watch.stop()
        if self.build_dialog is not None and self.build_dialog.running():
            self.build_dialog.cancel()
        if self.models_dialog is not None:
            self.models_dialog.stop_work()
        self.host.shutdown()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window_widget and event.type() == QEvent.Type.Close:
            self.shutdown()  # a refused close restarts the thread on the next request
        elif (
            event.type() == QEvent.Type.KeyPress
            and isinstance(watched, DocumentEditor)
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Right
            and event.modifiers() == Qt.KeyboardModifier.ControlModifier
            and watched.ghost_text()
        ):
            self.accept_next_word(watched)
            return True
        return super().eventFilter(watched, event)

    # ----- availability -----------------------------------------------------------------------
    def _license_reason(self) -> str:
        # The one licensing gate, shared with sync; it fails closed and never raises.
        status = feature_status("ai")
        return "" if status.allowed else status.reason

    def available(self) -> str:
        """Why AI actions can't run now ("" when they can)."""
        if not self.ready:
            return self.reason
        editor = self.window.current_editor()
        if editor is None:
            return "Open a document first."
        if editor.isReadOnly():
            return "This document is read-only."
        return ""

    def _can_run(self) -> bool:
        reason = self.available() or self._license_reason()
        if reason:
            self.notice.show_message(reason)
            return False
        return True

    def _refresh_actions(self) -> None:
        tip = "" if self.ready else self.reason
        for entry in self.window.registry.all():
            if entry.id.startswith("ai."):
                note = self._weak_note(entry.id)
                entry.action.setToolTip(tip or (f"{entry.title} — {note}" if note else entry.title))
        self.window.registry.refresh_enabled()

    def _weak_note(self, action_id: str) -> str:
        """The loaded model's note for an action's task ("works better with a larger model")."""
        task = ACTION_TASKS.get(action_id)
        if task is None and action_id.startswith("ai.tone."):
            task = Task.CHANGE_TONE
        return self.host.weak_tasks.get(task, "") if task is not None else ""

    def _mark_weak_tasks(self) -> None:
        """Say in the AI menu which tasks this model does poorly, instead of pretending."""
        registry = self.window.registry
        titles = {action_id: title for action_id, title, _task, _shortcut in TASK_ACTIONS}
        titles["ai.continue"] = "Suggest a continuation"
        for action_id, title in titles.items():
            note = self._weak_note(action_id)
            registry.action(action_id).setText(f"{title} — {note}" if note else title)
        note = self.host.weak_tasks.get(Task.CHANGE_TONE, "")
        self.tone_menu.setTitle(f"Change tone — {note}" if note else "Change tone")

    def _register_actions(self) -> None:
        registry = self.window.registry

        def enabled() -> bool:
            return not self.available()

        registry.register(
            "ai.continue",
            "Suggest a continuation",
            self.suggest,
            shortcut="Ctrl+Space",
            menu="AI",
            enabled=enabled,
        )
        for action_id, title, task, shortcut in TASK_ACTIONS:
            registry.register(
                action_id,
                title,
                partial(self.run_task, task),
                shortcut=shortcut,
                menu="AI",
                enabled=enabled,
            )
        tone_menu = QMenu("Change tone", self.window_widget)
        for tone in TONES:
            action = registry.register(
                f"ai.tone.{tone}",
                f"Change tone: {tone.capitalize()}",
                partial(self.run_task, Task.CHANGE_TONE, tone=tone),
                enabled=enabled,
            )
            action.setText(tone.capitalize())
            tone_menu.addAction(action)
        self.tone_menu = tone_menu
        self.window.menu("AI").addMenu(tone_menu)
        registry.register(
            "ai.show_notes", "Document notes", lambda: self.window.show_pane("notes"), menu="AI"
        )
        # The runtime's messages say "Settings > AI".
        self.settings_menu = QMenu("AI", self.window_widget)
        if not installed_app():  # building needs TensorFlow, which the installed app never has
            build = registry.register(
                "ai.build_model", "Build the AI model…", self.open_build_dialog
            )
            build.setText("Build model…")
            self.settings_menu.addAction(build)
            registry.register(  # learning needs TensorFlow too
                "ai.learn_style", "Learn my style…", self.open_learn_dialog, menu="AI"
            )
        models = registry.register("ai.models", "AI models…", self.open_models_dialog)
        models.setText("Models…")
        self.settings_menu.addAction(models)
        self.window.menu("Settings").addMenu(self.settings_menu)
        registry.register(
            "ai.auto_suggest",
            "Suggest after a pause",
            self._toggle_auto,
            menu="AI",
            checkable=True,
            checked=self.auto_ghost,
        )
        self.window.editor_context_menu_hooks.append(self._add_context_menu_entries)

    def _add_context_menu_entries(self, menu: QMenu, editor: DocumentEditor) -> None:
        """Right-click: the writing tasks, right where the selection is."""
        menu.addSeparator()
        ai_menu = menu.addMenu("AI")
        ai_menu.addAction(self.window.registry.action("ai.continue"))
        for action_id, _title, _task, _shortcut in TASK_ACTIONS:
            ai_menu.addAction(self.window.registry.action(action_id))
        ai_menu.addMenu(self.tone_menu)

    def open_build_dialog(self, extra_args: list[str] | None = None) -> ModelBuildDialog:
        """Offer to build the model; when it is built, load it."""
        from desktop.ui.ai_build_dialog import ModelBuildDialog

        dialog = ModelBuildDialog(self.window_widget, extra_args)
        self.build_dialog = dialog

        def built(ok: bool) -> None:
            if ok:
                self.notice.dismiss()
                self.load_model()

        dialog.finished_build.connect(built)
        present(dialog)
        return dialog

    def open_learn_dialog(self, extra_args: list[str] | None = None) -> LearnStyleDialog:
        """Adapt the model to the writer's documents; switch to it when they choose to."""
        from desktop.ui.learn_style_dialog import LearnStyleDialog

        dialog = LearnStyleDialog(
            self.window_widget, self.window.library.root, self.window.prompter, extra_args
        )
        dialog.use_model.connect(lambda path: self.window.change_setting("ai_model_dir", path))
        self.learn_dialog = dialog
        present(dialog)
        return dialog

    def open_models_dialog(self) -> ModelsDialog:
        """Settings > AI > Models…: list, add, choose and remove models."""
        from desktop.ui.models_dialog import ModelsDialog

        if self.models_dialog is None:
            self.models_dialog = ModelsDialog(self, self.window_widget)
        self.models_dialog.refresh()
        present(self.models_dialog)
        return self.models_dialog

    def model_in_use(self) -> Path | None:
        """The folder of the model that answers now (None while none is loaded)."""
        return self.host.model_folder if self.ready else None

    def models_changed(self) -> None:
        """A model was added or removed by the Models dialog: reload only when that changes
        which model answers (the chosen one is reloaded through its setting instead)."""
        if self.model_path is not None:
            return  # a chosen folder is watched on its own; others don't concern it
        default = find_default_model()
        loaded = self.host.model_folder
        if default is not None and loaded is not None and default.path == loaded:
            self.model_watch.loading()  # what is on disk now is still what answers
        else:
            self._reload_pending = True
            self._reload_when_idle()

    def _toggle_auto(self) -> None:
        on = self.window.registry.action("ai.auto_suggest").isChecked()
        self.window.change_setting("ai_suggest_after_pause", on)  # persisted; applied below
        self.auto_ghost = on
        if not self.auto_ghost:
            self.ghost_timer.stop()

    def apply_setting(self, key: str) -> None:
        """A persisted AI option changed (Settings dialog or menu): use it from now on."""
        if not key.startswith("ai_"):
            return
        options = ai_options(self.window.settings)
        self.ghost_delay_ms = options["ghost_delay_ms"]
        self.suggestion_tokens = options["suggestion_tokens"]
        self.temperature = options["temperature"]
        if self.auto_ghost != options["auto_ghost"]:
            self.window.registry.action("ai.auto_suggest").setChecked(options["auto_ghost"])
        if key in ("ai_device", "ai_threads", "ai_model_dir"):
            self.model_path = options["model_path"]
            self.runtime_settings = options["runtime_settings"]
            self.load_model()

    # ----- editors ----------------------------------------------------------------------------
    def _editor_changed(self, editor: DocumentEditor | None) -> None:
        if self._notes_document is not None and self.notes_pane.timer.isActive():
            self.save_notes()
        self.ghost_timer.stop()
        if self.ghost_job is not None:
            self.cancel_ghost()
        task = self.task_job
        if task is not None and not any(d.editor is task.editor for d in self.window.documents):
            self._stop_task_job()  # its document was closed
        document = self.window.current_document()
        self._notes_document = document
        if document is None:
            self.notes_pane.show_notes("", enabled=False)
        else:
            try:
                notes = self.window.library.load_notes(document.path)
            except OSError as exc:
                notes = ""
                self.notice.show_message(
                    f"Couldn't read this document's notes: {exc.strerror or exc}"
                )
            self.notes_pane.show_notes(notes, enabled=not self.window.read_only)
        if editor is not None and id(editor) not in self._wired:
            self._wired.add(id(editor))
            editor.document_edited.connect(lambda e=editor: self._on_typed(e))
            editor.cursor_moved.connect(lambda _pos, e=editor: self._on_cursor_moved(e))
            editor.ghost_text_dismissed.connect(self._on_ghost_dismissed)
            editor.ghost_text_accepted.connect(self._on_ghost_accepted)
            editor.installEventFilter(self)
            key = id(editor)
            editor.destroyed.connect(lambda *_args: self._editor_gone(key))
        if editor is not None and self.ready:
            self.warm_timer.start()
        self._refresh_actions()

    def _editor_gone(self, key: int) -> None:
        """A document was closed: stop what was being written for it."""
        self._wired.discard(key)
        if self.ghost_job is not None and id(self.ghost_job.editor) == key:
            self.cancel_ghost()
        if self.task_job is not None and id(self.task_job.editor) == key:
            self._stop_task_job()

    def notes_for(self, editor: DocumentEditor) -> str:
        document = next((d for d in self.window.documents if d.editor is editor), None)
        if document is None:
            return ""
        if document is self._notes_document:
            return self.notes_pane.text()
        try:
            return str(self.window.library.load_notes(document.path))
        except OSError:
            return ""

    def save_notes(self) -> None:
        self.notes_pane.timer.stop()
        document = self._notes_document
        if document is None or self.window.read_only:
            return
        try:
            self.window.library.save_notes(document.path, self.notes_pane.text())
        except OSError as exc:
            self.notice.show_message(f"Couldn't save this document's notes: {exc.strerror or exc}")

    # ----- ghost text -------------------------------------------------------------------------
    def current_delay_ms(self) -> int:
        return int(self.ghost_delay_ms * min(MAX_BACKOFF, 1.5**self.dismissals))

    def _on_typed(self, editor: DocumentEditor) -> None:
        if self.ghost_job is not None and self.ghost_job.editor is editor:
            self.cancel_ghost()
        if self.ready and editor is self.window.current_editor():
            self.warm_timer.start()
            if self.auto_ghost:
                self.ghost_timer.start(self.current_delay_ms())

    def _continue_request(self, editor: DocumentEditor) -> GenerationRequest:
        return GenerationRequest(
            Task.CONTINUE,
            before=editor.text_before_cursor(CONTEXT_BEFORE_CHARS),
            after=editor.text_after_cursor(CONTEXT_AFTER_CHARS),
            notes=self.notes_for(editor),
            max_new_tokens=self.suggestion_tokens,
            sampling=None
            if self.temperature is None
            else replace(CONTINUE_SAMPLING, temperature=self.temperature),
        )

    def warm_cache(self) -> None:
        """Idle time: prefill what a suggestion here would send (never while one runs)."""
        editor = self.window.current_editor()
        if editor is None or self.available() or self.host.busy() or self._license_reason():
            return
        request = self._continue_request(editor)
        if request.before.strip():
            self.host.warm(request)

    def _on_cursor_moved(self, editor: DocumentEditor) -> None:
        job = self.ghost_job
        if job is not None and job.editor is editor and editor.cursor_position() != job.position:
            self.cancel_ghost()

    def _on_ghost_dismissed(self) -> None:
        self.dismissals += 1
        self.cancel_ghost()

    def _on_ghost_accepted(self, _text: str) -> None:
        self.dismissals = 0
        self.cancel_ghost()

    def _pause_elapsed(self) -> None:
        editor = self.window.current_editor()
        if editor is None or editor.textCursor().hasSelection() or editor.ghost_text():
            return
        cursor = editor.textCursor()
        at_paragraph_end = cursor.positionInBlock() == len(cursor.block().text())
        if at_paragraph_end and editor.text_before_cursor(200).strip() and not self.available():
            self.suggest(quiet=True)

    def suggest(self, quiet: bool = False) -> None:
        """Stream a continuation of the text before the cursor as ghost text."""
        if quiet:
            if self.available() or self._license_reason():
                return
        elif not self._can_run():
            return
        editor = self.window.current_editor()
        assert editor is not None
        self.ghost_timer.stop()
        editor.clear_ghost_text()
        request = self._continue_request(editor)
        if not request.before.strip():
            if not quiet:
                self.notice.show_message("Write something first; the suggestion continues it.")
            return
        self._stop_task_job()
        self._unsay()
        self.last_request = request
        job_id = self.host.submit(request)
        self.ghost_job = GhostJob(job_id, editor, editor.cursor_position())

    def cancel_ghost(self) -> None:
        if self.ghost_job is not None:
            self.host.cancel(self.ghost_job.job_id)
            self.ghost_job = None

    def accept_next_word(self, editor: DocumentEditor) -> None:
        ghost = editor.ghost_text()
        stripped = ghost.lstrip()
        lead = len(ghost) - len(stripped)
        cut = len(stripped.split(" ", 1)[0].split("\n", 1)[0])
        word, rest = ghost[: lead + cut], ghost[lead + cut :]
        self.cancel_ghost()
        editor.clear_ghost_text()
        editor.insert_text_as_one_undo_step(word, ai_written=True)
        if rest:
            editor.show_ghost_text(rest)

    # ----- tasks on a selection ---------------------------------------------------------------
    def run_task(self, task: Task, *, tone: str | None = None) -> None:
        if not self._can_run():
            return
        editor = self.window.current_editor()
        assert editor is not None
        cursor = editor.textCursor()
        start, end = cursor.selectionStart(), cursor.selectionEnd()
        selection = editor.selected_text()
        title = f"Change tone: {tone}" if tone else task.name.capitalize()
        request = GenerationRequest(
            task,
            before=editor.text_before_cursor(CONTEXT_BEFORE_CHARS),
            after=editor.text_after_cursor(CONTEXT_AFTER_CHARS),
            selection=selection,
            notes=self.notes_for(editor),
            tone=tone,
            max_new_tokens=self.task_tokens,
        )
        self._start_task(TaskJob(0, editor, start, end, selection, request, title))

    def _start_task(self, job: TaskJob) -> None:
        try:
            self.window.show_pane("ai")
        except (AttributeError, KeyError):
            logger.debug("No sidebar pane to show")
        self.cancel_ghost()
        self._stop_task_job()
        job.editor.clear_ghost_text()
        self.task_pane.start(job.title, replaces=bool(job.selection))
        self._unsay()
        self.last_request = job.request
        job.job_id = self.host.submit(job.request)
        self.task_job = job

    def _stop_task_job(self) -> None:
        if self.task_job is not None and self.host.current_job == self.task_job.job_id:
            self.host.cancel(self.task_job.job_id)

    def stop(self) -> None:
        self._stop_task_job()

    def try_again(self) -> None:
        job = self.task_job
        if job is None or not self._can_run():
            return
        self._start_task(
            TaskJob(0, job.editor, job.start, job.end, job.selection, job.request, job.title)
        )

    def _target_editor(self) -> TaskJob | None:
        job = self.task_job
        if job is None:
            return None
        if not any(d.editor is job.editor for d in self.window.documents):
            self.notice.show_message("The document this answer was for has been closed.")
            return None
        last = job.editor.document().characterCount() - 1
        if job.end > last or job.editor._range_text(job.start, job.end) != job.selection:
            self.notice.show_message(
                "The text has changed since the task ran; select it again and try again."
            )
            return None
        return job

    def replace_with_result(self) -> None:
        if not self.task_pane.may_use(self.task_pane.replace_requested):
            return  # failed its check: only after "Use anyway"
        job = self._target_editor()
        text = self.task_pane.text()
        if job is None or not text:
            return
        job.editor.replace_range_as_one_undo_step(job.start, job.end, text, ai_written=True)

    def insert_result_below(self) -> None:
        if not self.task_pane.may_use(self.task_pane.insert_requested):
            return  # failed its check: only after "Use anyway"
        job = self._target_editor()
        text = self.task_pane.text()
        if job is None or not text:
            return
        cursor = QTextCursor(job.editor.document())
        cursor.setPosition(job.end)
        cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock)
        job.editor.insert_text_as_one_undo_step("\n\n" + text, cursor.position(), ai_written=True)

    # ----- results ----------------------------------------------------------------------------
    def _on_chunk(self, job_id: int, piece: str) -> None:
        ghost = self.ghost_job
        if ghost is not None and ghost.job_id == job_id:
            if ghost.editor.cursor_position() == ghost.position:
                ghost.editor.append_ghost_text(piece)
            return
        if self.task_job is not None and self.task_job.job_id == job_id:
            self.task_pane.append(piece)

    def _on_restarted(self, job_id: int, reason: str) -> None:
        """The answer streamed so far failed its check and is being written again."""
        ghost = self.ghost_job
        if ghost is not None and ghost.job_id == job_id:
            ghost.editor.clear_ghost_text()
            self.say(f"Suggestion: {restart_message(reason)}")
        elif self.task_job is not None and self.task_job.job_id == job_id:
            self.task_pane.restart(reason)

    def _on_finished(self, result: JobResult) -> None:
        self.status.speed(result.tokens_per_second)
        ghost = self.ghost_job
        if ghost is not None and ghost.job_id == result.job_id:
            self.ghost_job = None
            if ghost.editor.cursor_position() == ghost.position and not result.cancelled:
                if result.text.strip():
                    ghost.editor.show_ghost_text(result.text)
                    if not result.check.passed:
                        self.say(f"This suggestion may not fit: {result.check.summary}")
                else:
                    ghost.editor.clear_ghost_text()
                    self.say(
                        "No suggestion here: the model had nothing usable to add. "
                        "Press Ctrl+Space to try again."
                    )
        elif self.task_job is not None and self.task_job.job_id == result.job_id:
            job = self.task_job
            self.task_pane.finish(
                result.text,
                result.stop_reason,
                result.check,
                method_note(
                    Task(job.request.task),
                    result.check,
                    job.title,
                    self.host.weak_tasks.get(Task(job.request.task), ""),
                ),
            )
            if not result.cancelled and not result.text.strip():
                self.say(f"{job.title}: the model wrote nothing usable for this text.")
            elif not result.cancelled and not result.check.passed:
                self.say(f"{job.title}: the answer did not pass its check; see the AI pane.")
        self._reload_when_idle()

    def _on_failed(self, job_id: int, message: str) -> None:
        if self.ghost_job is not None and self.ghost_job.job_id == job_id:
            self.ghost_job = None
        if self.task_job is not None and self.task_job.job_id == job_id:
            self.task_pane.fail(message)
        self.notice.show_message(message)
        self._reload_when_idle()


def ai_options(settings: Settings) -> dict[str, Any]:
    """The persisted AI options (desktop/settings.py) as AIFeature arguments."""
    return {
        "auto_ghost": settings.get_bool("ai_suggest_after_pause"),
        "ghost_delay_ms": settings.ai_suggest_delay_ms(),
        "temperature": settings.ai_temperature(),
        "suggestion_tokens": settings.ai_suggestion_tokens(),
        "model_path": settings.ai_model_dir(),
        "runtime_settings": RuntimeSettings(
            device=settings.ai_device(), threads=settings.ai_threads()
        ),
    }


def install_ai(window: EditorWindow, **options: Any) -> AIFeature:
    """Add AI help to ``window``; the model starts loading on its own thread right away.

    Options not given come from the user's saved settings (Settings › AI)."""
    return AIFeature(window, **{**ai_options(window.settings), **options})
