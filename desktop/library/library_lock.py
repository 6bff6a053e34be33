"""A lock file so two running Draftsmith instances don't fight over one library.

The lock records host, user, pid and a heartbeat time. It is stale when its process is gone
(same host) or its heartbeat is older than STALE_AFTER (another host, e.g. a synced folder).
A stale lock left by this user on this machine (Draftsmith crashed or was killed) is taken
over without asking; any other lock is reported so the writer decides.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
import time
import uuid
from pathlib import Path

from desktop import paths
from desktop.library.atomic_write import atomic_write_text
from desktop.library.errors import LibraryLockedError

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 60
STALE_AFTER = 10 * 60


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return not _exited(pid)


def _exited(pid: int) -> bool:
    """A process that has exited but not been reaped by its parent yet (a zombie, Linux):
    signal 0 still reaches it, yet it holds no library."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False  # no /proc (macOS, Windows) or gone meanwhile: signal 0 decided
    return stat.rpartition(")")[2].split()[:1] == ["Z"]  # the state follows the name


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return ""


class LibraryLock:
    def __init__(self, library_root: Path) -> None:
        self.path = paths.meta_dir(Path(library_root)) / paths.LOCK_FILE
        self.token = uuid.uuid4().hex
        self.held = False

    def _payload(self) -> str:
        return json.dumps(
            {
                "host": socket.gethostname(),
                "user": _user_name(),
                "pid": os.getpid(),
                "time": time.time(),
                "token": self.token,
            }
        )

    def read_owner(self) -> dict[str, object] | None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {"host": "?", "pid": 0, "time": 0.0, "token": ""}
        return raw if isinstance(raw, dict) else {"host": "?", "pid": 0, "time": 0.0}

    @staticmethod
    def is_stale(owner: dict[str, object], now: float | None = None) -> bool:
        now = time.time() if now is None else now
        host = owner.get("host")
        pid = owner.get("pid")
        stamp = owner.get("time")
        if host == socket.gethostname() and isinstance(pid, int):
            return not _process_alive(pid)
        return not isinstance(stamp, (int, float)) or now - stamp > STALE_AFTER

    def left_by_me_here(self, owner: dict[str, object]) -> bool:
        """A crashed Draftsmith of this user on this machine: its process is gone, and the
        lock names this user (older locks without a user: the lock file is this user's)."""
        if owner.get("host") != socket.gethostname() or not self.is_stale(owner):
            return False
        user = owner.get("user")
        if user is not None:
            return bool(user) and user == _user_name()
        getuid = getattr(os, "getuid", None)
        try:
            return getuid is not None and self.path.stat().st_uid == getuid()
        except OSError:
            return False

    def acquire(self) -> None:
        """Take the lock or raise LibraryLockedError explaining who holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            owner = self.read_owner()
            if owner is None:  # released between our two looks
                return self.acquire()
            if owner.get("token") == self.token:
                self.held = True
                return None
            if self.left_by_me_here(owner):
                logger.info("Taking over the lock of a Draftsmith that is no longer running")
                self.take_over()
                return None
            stale = self.is_stale(owner)
            stamp = owner.get("time")
            when = time.strftime(
                "%H:%M", time.localtime(float(stamp) if isinstance(stamp, (int, float)) else 0.0)
            )
            if stale:
                message = (
                    f"This library was left locked by Draftsmith on “{owner.get('host')}” "
                    f"(last seen {when}), which is no longer running."
                )
            else:
                message = (
                    "This library is open in another Draftsmith window "
                    f"(on “{owner.get('host')}”, process {owner.get('pid')})."
                )
            raise LibraryLockedError(message, owner, stale) from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self._payload())
            handle.flush()
            os.fsync(handle.fileno())
        self.held = True
        return None

    def take_over(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, self._payload())
        self.held = True

    def refresh(self) -> bool:
        """Heartbeat; returns False if someone else took the lock over meanwhile."""
        if not self.held:
            return False
        owner = self.read_owner()
        if owner is None or owner.get("token") != self.token:
            self.held = False
            return False
        atomic_write_text(self.path, self._payload())
        return True

    def release(self) -> None:
        if not self.held:
            return
        owner = self.read_owner()
        if owner is not None and owner.get("token") == self.token:
            self.path.unlink(missing_ok=True)
        self.held = False
