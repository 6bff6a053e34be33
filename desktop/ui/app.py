"""Start the editor: Qt application, settings, library lock, main window, crash handler.

Nothing slow on this path: no model, no network; the spelling dictionary loads in a thread.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from desktop import paths, resources
from desktop.library import Library
from desktop.settings import Settings
from desktop.ui.backup_schedule import wait_for_close_backups
from desktop.ui.crash_handler import install_excepthook
from desktop.ui.library_claim import claim_library
from desktop.ui.license_refresh import start_license_refresh
from desktop.ui.main_window import MainWindow
from desktop.ui.prompter import Prompter
from desktop.ui.single_instance import InstanceServer, ask_running_instance_to_activate
from desktop.ui.startup_objects import (
    keep_out_of_collections,
    pause_collection,
    resume_collection,
)
from desktop.ui.window_activation import DialogFocusReturn, present
from licensing.client import prefetch_license_status

if TYPE_CHECKING:  # imported for real only in a thread after start-up: it is slow
    from desktop.ui.sync_menu import SyncFeature

logger = logging.getLogger(__name__)

FeatureT = TypeVar("FeatureT")

ICON = resources.icon()


def open_first_documents(window: MainWindow, welcome: Path | None) -> None:
    """Last session's documents, else the welcome document, else something to type in."""
    window.restore_session()
    if welcome is not None:
        window.open_document(welcome)
    if not window.documents:
        first = window.library.first_document()
        if first is not None:
            window.open_document(first)
        elif not window.read_only:
            window.new_document()


# Background threads (word counts, dictionary, model loading, search) run Python too; by default
# a thread that holds the interpreter lock keeps it up to 5 ms each time the GUI thread asks,
# and painting one frame or installing a feature asks many times. 0.5 ms: the longest start-up
# stall with one document fell from a median of 10.9 ms to 7.6 (1 ms -> 0.5 ms, six interleaved
# start-ups each; 0.2 ms: 6.3, but a big library's filling, which the background threads then
# interrupt more often, got no better).
GUI_SWITCH_INTERVAL_SECONDS = 0.0005


def build_window(
    library_path: Path | None = None, prompter: Prompter | None = None
) -> MainWindow | None:
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_SECONDS)
    settings = Settings()
    prompter = prompter or Prompter()
    if library_path is None and not settings.get_bool("first_run_done"):
        chosen = prompter.offer_library(settings.library_path())
        if chosen != settings.library_path():
            settings.set("library_path", str(chosen))
    library = Library(library_path or settings.library_path())
    try:
        welcome = library.ensure_exists(welcome=not settings.get_bool("first_run_done"))
    except OSError as exc:
        prompter.error(
            "Can't open the library",
            f"Draftsmith couldn't create its library folder “{library.root}”: "
            f"{exc.strerror or exc}. Choose another folder in Settings.",
        )
        return None
    if ask_running_instance_to_activate(library.root):
        logger.info("Draftsmith is already open on this library; switched to it")
        return None
    claim = claim_library(library, prompter)
    if claim is None:
        return None
    lock, read_only = claim
    window = MainWindow(library, settings, lock=lock, read_only=read_only, prompter=prompter)
    prompter.parent = window
    if not read_only:
        window.instance_server = InstanceServer(library.root, window)
        window.instance_server.activate_requested.connect(window.bring_to_front)
    open_first_documents(window, welcome)
    if not settings.get_bool("first_run_done"):
        settings.set("first_run_done", True)
        try:
            settings.save()
        except OSError as exc:
            logger.warning("Couldn't save settings: %s", exc)
    return window


def open_window(
    library_path: Path | None = None, prompter: Prompter | None = None
) -> MainWindow | None:
    """``build_window`` as the app runs it: no garbage collection while the window is built,
    and what start-up built (the sidebar's rows too, once they are all in) kept out of later
    collections (``startup_objects``)."""
    pause_collection()  # already paused when the command line imported this module
    try:
        window = build_window(library_path, prompter)
    finally:
        resume_collection()
    if window is not None:
        window.when_library_listed(keep_out_of_collections)
    return window


class _FeatureLoader(QObject):
    ready = Signal(object)


# Loaders live here until their feature is installed: they have no parent (a thread may
# still emit after the window is gone) yet must outlive the function that started them.
_PENDING_LOADERS: set[_FeatureLoader] = set()


def _install_after_import(
    window: MainWindow,
    what: str,
    import_installer: Callable[[], Callable[[MainWindow], FeatureT]],
    keep: Callable[[FeatureT], None],
) -> None:
    """Import a feature's modules in a thread (they are slow to import), then install it on the
    GUI thread and hand it to ``keep``. A build without the feature simply goes without it."""
    loader = _FeatureLoader()
    _PENDING_LOADERS.add(loader)

    def install(installer: Callable[[MainWindow], FeatureT] | None) -> None:
        _PENDING_LOADERS.discard(loader)
        if installer is not None and shiboken6.isValid(window):
            keep(installer(window))

    def load() -> None:
        try:
            installer: Callable[[MainWindow], FeatureT] | None = import_installer()
        except ImportError as exc:
            logger.info("%s is not part of this build: %s", what, exc)
            installer = None
        loader.ready.emit(installer)

    loader.ready.connect(install)
    name = what.lower().replace(" ", "-") + "-loader"
    threading.Thread(target=load, name=name, daemon=True).start()


def _import_sync() -> Callable[[MainWindow], SyncFeature]:
    from desktop.ui.sync_menu import install_sync

    return install_sync


# Sync's imports run in a thread that competes with the window's first paint for the
# interpreter lock and the two or so cores: it starts once the window has painted.
FEATURES_DELAY_MS = 250


def load_optional_features(window: MainWindow, *, delay_ms: int = FEATURES_DELAY_MS) -> None:
    """AI help is installed now, before the window's first paint: its modules import in
    ~0.1 s (numpy and onnxruntime stay in the model's process), and building its panes and
    status-bar items later held the event loop for 40-110 ms (relayout included) just as the
    writer started typing. Sync's modules take longer (~0.3 s): they import in a thread
    after the window is up and sync installs on the GUI thread (a few ms). A build without
    either feature simply goes without it."""

    def keep(feature: SyncFeature) -> None:
        window.sync = feature

    # Both features ask the license gate; its first answer reads the keyring (up to ~0.1 s).
    prefetch_license_status()
    load_ai_feature(window)
    QTimer.singleShot(
        delay_ms, window, lambda: _install_after_import(window, "Sync", _import_sync, keep)
    )


# The model (hundreds of MB) starts loading once the window has settled.
AI_LOAD_DELAY_MS = 1500


def load_ai_feature(window: MainWindow) -> None:
    """AI help's panes, actions and status; the model then loads on the AI feature's own
    thread (in a process of its own), ``AI_LOAD_DELAY_MS`` after the window is up."""
    try:
        from desktop.ui.ai_feature import install_ai
    except ImportError as exc:
        logger.info("AI help is not part of this build: %s", exc)
        return
    window.ai = install_ai(window, load_delay_ms=AI_LOAD_DELAY_MS)


def run(argv: list[str], *, library_path: Path | None = None) -> int:
    app = QApplication.instance() or QApplication(argv)
    assert isinstance(app, QApplication)
    app.setApplicationName(paths.APP_NAME)
    app.setApplicationDisplayName(paths.APP_NAME)
    app.setDesktopFileName("draftsmith")
    if ICON.exists():
        app.setWindowIcon(QIcon(str(ICON)))
    window = open_window(library_path)
    if window is None:
        return 1
    install_excepthook(window.emergency_save, window.prompter.error)
    # Active, not left to the window manager: without one (a bare X server, some kiosk
    # sessions) the window never became active, and no shortcut (Ctrl+N, Ctrl+F…) worked.
    present(window)
    DialogFocusReturn.install(app)  # and back to it when a dialog closes
    if not window.read_only:
        QTimer.singleShot(0, window.recover_from_journal)
    load_optional_features(window)
    start_license_refresh(window)  # refunds and revocations reach this machine
    code = app.exec()
    sys.excepthook = sys.__excepthook__
    wait_for_close_backups()  # the window went at once; its close backup finishes here
    return code


def open_and_close_window(library_path: Path) -> str:
    """For ``--self-test``: build the main window on ``library_path``, show it, close it."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName(paths.APP_NAME)
    window = build_window(library_path)
    if window is None:
        raise RuntimeError("the main window could not open its library")
    window.show()
    app.processEvents()
    shown = window.isVisible()
    title = window.windowTitle()
    window.close()
    app.processEvents()
    wait_for_close_backups()
    if not shown:
        raise RuntimeError("the main window did not appear")
    return f"opened and closed “{title}” ({app.platformName()})"
