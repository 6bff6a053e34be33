"""Nothing leaves the computer: a writing session with AI help, run as a new user in a network
namespace with no route and traced with strace, tries no network connection and writes no file
outside Draftsmith's own folders (in particular none of onnxruntime's telemetry files under
``~/.cache/Microsoft``).

Everything a process inherits from this test run is left out on purpose (only PATH, a fresh
HOME and the model cache are passed): onnxruntime stays quiet by itself when it sees CI
variables such as GITHUB_ACTIONS, which would hide its telemetry from a test on a build server."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from inference.model_cache import CACHE_ENV, model_cache_root
from tests.privacy.syscall_trace import Trace, read_trace, run_offline, unavailable_reason

ROOT = Path(__file__).resolve().parents[2]
# onnxruntime's uploader first runs ~9 s after it starts: a session shorter than that would
# hide it. A writer's session lasts minutes; 15 s covers the first upload with room to spare.
SESSION_SECONDS = 15.0
TIMEOUT_SECONDS = 150.0

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="strace and unshare: Linux"),
    pytest.mark.skipif(bool(unavailable_reason()), reason=unavailable_reason() or "available"),
    pytest.mark.timeout(400),
]


class NewUser:
    """A fresh home folder, runtime and temp folders, as a first start on a new account."""

    def __init__(self, base: Path) -> None:
        self.home = base / "home"
        self.runtime = base / "run"  # XDG_RUNTIME_DIR, which a desktop session provides
        self.temp = base / "tmp"
        self.work = base / "work"  # the shell's working folder (the CLI's input files)
        for folder in (self.home, self.runtime, self.temp, self.work):
            folder.mkdir(parents=True)
        self.runtime.chmod(0o700)
        self.library = self.home / "Documents" / "Draftsmith"
        self.model_cache = model_cache_root()

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "TMPDIR": str(self.temp),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(ROOT),
            "QT_QPA_PLATFORM": "offscreen",
            CACHE_ENV: str(self.model_cache),
        }

    def own_folders(self) -> list[Path]:
        """Draftsmith's folders: its XDG config/data/state/cache folders, the library, the
        model cache; and the folders it is handed (the working folder with the CLI's input)."""
        xdg = [".config", ".local/share", ".local/state", ".cache"]
        return [
            *(self.home / folder / "Draftsmith" for folder in xdg),
            self.library,
            self.model_cache,
            self.work,
        ]

    def run(self, name: str, *args: str) -> tuple[Trace, str]:
        trace_file = self.work.parent / f"{name}.strace"
        command = [sys.executable, *args]
        done = run_offline(
            command, trace_file, env=self.env(), cwd=self.work, timeout=TIMEOUT_SECONDS
        )
        assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr[-3000:]}"
        return read_trace(trace_file, self.work), done.stdout

    def temp_files_left(self) -> list[Path]:
        return sorted(self.temp.rglob("*"))


def outside_own_folders(user: NewUser, trace: Trace) -> dict[Path, str]:
    """Written paths that are not Draftsmith's: besides its own folders, only the parents
    made on the way to them, the single-instance server's socket (in the temp folder) and
    temporary files removed before the session ended are allowed."""
    own = user.own_folders()
    parents = {parent for folder in own for parent in folder.parents}
    found = trace.written_outside([*own, user.temp])
    found = {path: call for path, call in found.items() if path not in parents}
    return found


def assert_private(user: NewUser, trace: Trace, what: str) -> None:
    assert not trace.network, f"{what} tried to reach the network:\n" + "\n".join(trace.network)
    outside = outside_own_folders(user, trace)
    assert not outside, f"{what} wrote outside Draftsmith's folders:\n" + "\n".join(
        f"{path}: {call}" for path, call in sorted(outside.items())
    )
    left = [p for p in user.temp_files_left() if not p.name.startswith("draftsmith-")]
    assert not left, f"{what} left files in the temp folder: {left}"
    assert not (user.home / ".cache" / "Microsoft").exists()


def test_a_writing_session_with_ai_stays_on_this_computer(
    tmp_path: Path, default_model_dir: Path
) -> None:
    user = NewUser(tmp_path)
    trace, output = user.run(
        "app",
        "-m",
        "tests.privacy.app_session",
        str(user.library),
        "--linger-seconds",
        str(SESSION_SECONDS),
        "--timeout-seconds",
        str(TIMEOUT_SECONDS - 20),
    )
    session = json.loads(output.strip().splitlines()[-1])
    assert session["ghost_text"].strip() and session["rewrite"].strip(), session
    assert session["seconds"] >= SESSION_SECONDS
    assert_private(user, trace, "The app")
    # The session really wrote where it should: the document, settings, the backup.
    assert "The keeper climbed" in (user.library / "Welcome.md").read_text(encoding="utf-8")
    assert (user.home / ".config" / "Draftsmith" / "settings.json").exists()

    text = user.work / "story.txt"
    text.write_text("The keeper climbed the stairs. The lamp was cold, and", encoding="utf-8")
    trace, output = user.run(
        "generate",
        "-m",
        "desktop",
        "generate",
        "--task",
        "continue",
        "--file",
        str(text),
        "--max-tokens",
        "24",
        "--json",
    )
    assert json.loads(output)["text"].strip()
    assert_private(user, trace, "draftsmith generate")

    trace, output = user.run("devices", "-m", "desktop", "devices")
    assert "CPU" in output
    assert_private(user, trace, "draftsmith devices")
