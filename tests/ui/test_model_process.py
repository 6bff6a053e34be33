"""The AI model in its own process (``desktop/ui/model_process.py``), with the real tiny model
and real onnxruntime there: answers stream as before, cancel reaches it, a crash of it is a
plain message and the model comes back, and it never outlives the editor (kill -9 included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from desktop.library import Library
from desktop.ui.ai_feature import AIFeature, install_ai
from desktop.ui.model_process import GONE_MESSAGE, ModelProcess
from inference.runtime import GenerationRequest, StopReason

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("propagateSizeHints"),
]

TEXT = "The keeper climbed the stairs. The lamp was cold."
REPO = Path(__file__).resolve().parents[2]


def ready_feature(qtbot: Any, make_window: Any, library: Library, model: Path) -> AIFeature:
    window = make_window()
    document = window.open_document(library.create_document(title="Story", text=TEXT))
    document.editor.setFocus()
    document.editor.set_cursor_position(len(TEXT))
    feature = install_ai(window, model_path=model, auto_ghost=False)
    qtbot.waitUntil(lambda: feature.ready, timeout=30_000)
    return feature


def model_process(feature: AIFeature) -> ModelProcess:
    model = feature.host.worker.model
    assert isinstance(model, ModelProcess)
    return model


def gone(pid: int, within: float = 10.0) -> bool:
    """True once no process ``pid`` runs (zombies reaped by their parent count as gone)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # ended, waiting for a parent to collect it (Linux)
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (OSError, IndexError):
            pass
        try:  # our own child: reap it
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.05)
    return False


def test_the_model_loads_and_answers_in_a_process_of_its_own(
    qtbot: Any, make_window: Any, library: Library, tiny_model_dir: Path
) -> None:
    feature = ready_feature(qtbot, make_window, library, tiny_model_dir)
    model = model_process(feature)
    assert model.pid != os.getpid() and model.alive()
    assert feature.host.model_folder == tiny_model_dir
    assert feature.status.text().startswith("AI:")
    chunks: list[str] = []
    feature.host.chunk.connect(lambda _job, piece: chunks.append(piece))
    with qtbot.waitSignal(feature.host.finished, timeout=20_000) as done:
        feature.window.registry.trigger("ai.continue")
    result = done.args[0]
    assert result.stop_reason is not StopReason.CANCELLED
    assert "".join(chunks).strip() and result.text.strip()
    assert result.tokens_per_second > 0


def test_cancel_reaches_the_model_process(
    qtbot: Any, make_window: Any, library: Library, tiny_model_dir: Path
) -> None:
    feature = ready_feature(qtbot, make_window, library, tiny_model_dir)
    host = feature.host
    with qtbot.waitSignal(host.chunk, timeout=20_000):
        job = host.submit(GenerationRequest("expand", selection=TEXT, max_new_tokens=1024))
    with qtbot.waitSignal(host.finished, timeout=10_000) as done:
        host.cancel(job)
    assert done.args[0].job_id == job and done.args[0].cancelled
    # The process carries on: the next request is answered.
    with qtbot.waitSignal(host.finished, timeout=20_000) as again:
        host.submit(GenerationRequest("continue", before=TEXT, max_new_tokens=8))
    assert not again.args[0].cancelled and model_process(feature).alive()


def test_a_crashed_model_process_is_a_plain_message_and_the_model_loads_again(
    qtbot: Any, make_window: Any, library: Library, tiny_model_dir: Path
) -> None:
    feature = ready_feature(qtbot, make_window, library, tiny_model_dir)
    host = feature.host
    first = model_process(feature)
    failures: list[str] = []
    host.failed.connect(lambda _job, message: failures.append(message))
    with qtbot.waitSignal(host.chunk, timeout=20_000):
        host.submit(GenerationRequest("expand", selection=TEXT, max_new_tokens=1024))
    os.kill(first.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: bool(failures), timeout=10_000)
    assert failures == [GONE_MESSAGE]
    assert "Traceback" not in feature.notice.message()
    with qtbot.waitSignal(host.loaded, timeout=30_000):  # loaded again by itself
        pass
    assert feature.ready
    second = model_process(feature)
    assert second.pid != first.pid and second.alive() and not first.alive()
    with qtbot.waitSignal(host.finished, timeout=20_000) as done:
        host.submit(GenerationRequest("continue", before=TEXT, max_new_tokens=8))
    assert done.args[0].text.strip()


def test_the_model_process_ends_when_its_owner_is_deleted(qtbot: Any, tiny_model_dir: Path) -> None:
    from PySide6.QtCore import QObject

    from desktop.ui.ai_worker import ModelHost

    owner = QObject()
    host = ModelHost(owner)
    with qtbot.waitSignal(host.loaded, timeout=30_000):
        host.load(tiny_model_dir)
    model = host.worker.model
    assert isinstance(model, ModelProcess)
    with qtbot.waitSignal(owner.destroyed):
        owner.deleteLater()
    assert gone(model.pid)


EDITOR = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from desktop.ui.model_process import ModelProcess

    model = ModelProcess.load(Path(sys.argv[1]))
    print(model.pid, flush=True)
    sys.stdin.read()  # until killed
    """
)


def test_the_model_process_never_outlives_an_editor_killed_with_sigkill(
    tiny_model_dir: Path,
) -> None:
    editor = subprocess.Popen(
        [sys.executable, "-c", EDITOR, str(tiny_model_dir)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert editor.stdout is not None
    child = int(editor.stdout.readline())
    os.kill(child, 0)  # it runs
    editor.kill()
    editor.wait()
    assert gone(child)


@pytest.mark.perf
def test_loading_the_default_model_never_stalls_the_event_loop(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    """In the editor's process, parsing the tokenizer and creating onnxruntime's session held
    the interpreter lock for 0.1-0.25 s at a time; in its own process the editor never waits.

    As in the app, AI help's panes are built before the window first paints (start-up time,
    which ``benchmarks/editor_startup.py`` measures) and the model loads once the window has
    settled: the watch covers the load, from the AI feature's ``load_model`` to "ready"."""
    from inference.model_folder import find_default_model
    from tests.perf import expect_fast
    from tests.ui.event_loop_watch import EventLoopWatch

    folder = find_default_model()
    if folder is None:
        pytest.skip("the default model is not built on this machine")
    window = make_window()
    window.open_document(library.create_document(title="Story", text=TEXT))
    feature = install_ai(window, model_path=folder.path, auto_ghost=False, load_delay_ms=60_000)
    qtbot.waitExposed(window)
    qtbot.wait(200)  # the first paint and layout, and the AI panes' own
    feature.load_timer.stop()
    watch = EventLoopWatch()
    watch.start()
    feature.load_model()
    qtbot.waitUntil(lambda: feature.ready, timeout=120_000)
    watch.stop()
    model_process(feature)
    what = "longest event-loop stall while the default model loaded (own, wall {:.0f} ms)"
    expect_fast(watch.longest_own * 1000, 16.7, what.format(watch.longest * 1000), "ms")


def test_a_model_process_that_cannot_start_is_a_plain_load_error(
    monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path
) -> None:
    import desktop.ui.model_process as model_process_module
    from desktop.ui.model_process import ModelProcessError

    monkeypatch.setattr(
        model_process_module, "command", lambda: [sys.executable, "-c", "raise SystemExit(3)"]
    )
    with pytest.raises(ModelProcessError, match="could not be started"):
        ModelProcess.load(tiny_model_dir)


def test_a_model_that_cannot_load_says_why_in_the_runtimes_words(tmp_path: Path) -> None:
    from desktop.ui.model_process import ModelProcessError

    with pytest.raises(ModelProcessError, match="nowhere"):
        ModelProcess.load(tmp_path / "nowhere")


def test_the_installed_app_runs_the_model_with_its_own_binary_and_flag(
    monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path
) -> None:
    """A frozen app has no Python for ``-m``: its binary (``draftsmith``, i.e. ``desktop.cli``)
    takes ``--model-process``. Here ``python -m desktop`` stands in for that binary."""
    import desktop.ui.model_process as model_process_module
    from desktop.ui.model_process import MODEL_PROCESS_FLAG

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert model_process_module.command() == [sys.executable, MODEL_PROCESS_FLAG]
    monkeypatch.setattr(
        model_process_module,
        "command",
        lambda: [sys.executable, "-m", "desktop", MODEL_PROCESS_FLAG],
    )
    model = ModelProcess.load(tiny_model_dir)
    try:
        pieces: list[str] = []
        result = model.run(
            GenerationRequest("continue", before=TEXT, max_new_tokens=8), on_text=pieces.append
        )
        assert result.text.strip() and "".join(pieces).strip()
    finally:
        model.close()
    assert not model.alive()


EDITOR_WITH_AI = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from desktop.library import Library
    from desktop.settings import Settings
    from desktop.ui.ai_feature import install_ai
    from desktop.ui.main_window import MainWindow
    from inference.runtime import GenerationRequest

    app = QApplication([])
    library = Library(Path(sys.argv[2]))
    library.ensure_exists(welcome=False)
    window = MainWindow(library, Settings(), load_spelling=False)
    window.show()
    window.open_document(library.create_document(title="Story", text=sys.argv[3]))
    feature = install_ai(window, model_path=Path(sys.argv[1]), auto_ghost=False)
    while not feature.ready:
        app.processEvents()
    answers = []
    feature.host.finished.connect(answers.append)
    feature.host.failed.connect(lambda _job, message: sys.exit(message))
    feature.host.submit(GenerationRequest("continue", before=sys.argv[3], max_new_tokens=4))
    while not answers:
        app.processEvents()
    heavy = ("numpy", "onnxruntime", "tokenizers", "inference.runtime.local_model")
    print(type(answers[0]).__name__, *(name for name in heavy if name in sys.modules))
    feature.host.shutdown()
    """
)


def test_the_editors_process_never_loads_numpy_or_onnxruntime(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    """Importing numpy's and onnxruntime's C extensions holds the interpreter lock for tens of
    milliseconds (a dropped frame or three while typing); the model's process has them."""
    editor = subprocess.run(
        [sys.executable, "-c", EDITOR_WITH_AI, str(tiny_model_dir), str(tmp_path / "lib"), TEXT],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert editor.returncode == 0, editor.stderr
    assert editor.stdout.split() == ["JobResult"]
