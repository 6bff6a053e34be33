"""A new user's account for a traced offline run: a fresh home folder, and the checks that
what ran there stayed on this computer (see ``syscall_trace``).

Everything a process inherits from the caller is left out on purpose (only PATH, a fresh HOME,
runtime and temp folders and the model cache are passed): onnxruntime stays quiet by itself
when it sees CI variables such as GITHUB_ACTIONS, which would hide its telemetry from a check
on a build server."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from inference.model_cache import CACHE_ENV, model_cache_root
from licensing.client.activation import SERVER_URL_ENV
from tests.privacy.syscall_trace import Trace, read_trace, run_offline

ROOT = Path(__file__).resolve().parents[2]

# The one network use a writing session has: the background license check (start-up, then
# daily; a trial asks once for its signed trial). It is pointed at a closed local port, so the
# trace can tell it from anything else and nothing leaves the machine even by mistake.
LICENSE_SERVER = "http://127.0.0.1:9"


def is_license_check(call: str) -> bool:
    return 'inet_addr("127.0.0.1")' in call and "htons(9)" in call


class NewUser:
    """A fresh home folder, runtime and temp folders, as a first start on a new account."""

    def __init__(self, base: Path, model_cache: Path | None = None) -> None:
        self.home = base / "home"
        self.runtime = base / "run"  # XDG_RUNTIME_DIR, which a desktop session provides
        self.temp = base / "tmp"
        self.work = base / "work"  # the shell's working folder (the CLI's input files)
        for folder in (self.home, self.runtime, self.temp, self.work):
            folder.mkdir(parents=True)
        self.runtime.chmod(0o700)
        self.library = self.home / "Documents" / "Draftsmith"
        self.model_cache = model_cache or model_cache_root()

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
            SERVER_URL_ENV: LICENSE_SERVER,
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

    def run(self, name: str, *args: str, timeout: float = 150.0) -> tuple[Trace, str]:
        """Run ``python ARGS`` offline under strace as this user; its trace and output."""
        trace_file = self.work.parent / f"{name}.strace"
        command = [sys.executable, *args]
        done = run_offline(command, trace_file, env=self.env(), cwd=self.work, timeout=timeout)
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


def assert_private(
    user: NewUser, trace: Trace, what: str, *, license_check_allowed: bool = False
) -> None:
    """No network (but the license check, where allowed); nothing written elsewhere."""
    other = [
        call for call in trace.network if not (license_check_allowed and is_license_check(call))
    ]
    assert not other, f"{what} tried to reach the network:\n" + "\n".join(other)
    outside = outside_own_folders(user, trace)
    assert not outside, f"{what} wrote outside Draftsmith's folders:\n" + "\n".join(
        f"{path}: {call}" for path, call in sorted(outside.items())
    )
    left = [p for p in user.temp_files_left() if not p.name.startswith("draftsmith-")]
    assert not left, f"{what} left files in the temp folder: {left}"
    assert not (user.home / ".cache" / "Microsoft").exists()
