from __future__ import annotations

import getpass
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.library import Library, LibraryLockedError
from desktop.library.library_lock import STALE_AFTER, LibraryLock


def test_second_lock_is_refused_with_a_clear_message(library: Library) -> None:
    first = LibraryLock(library.root)
    first.acquire()
    second = LibraryLock(library.root)
    with pytest.raises(LibraryLockedError) as caught:
        second.acquire()
    assert "open in another Draftsmith window" in str(caught.value)
    assert not caught.value.stale
    first.release()
    second.acquire()
    assert second.held
    second.release()
    assert not second.path.exists()


def _dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(child.stdout)


def _write_lock(lock: LibraryLock, **owner: object) -> None:
    lock.path.parent.mkdir(parents=True, exist_ok=True)
    lock.path.write_text(json.dumps({"time": time.time(), "token": "old", **owner}))


def test_lock_of_my_own_dead_process_is_taken_over_silently(library: Library) -> None:
    """Draftsmith crashed (or was killed) here: starting again must not ask anything."""
    lock = LibraryLock(library.root)
    _write_lock(lock, host=socket.gethostname(), user=getpass.getuser(), pid=_dead_pid())
    lock.acquire()
    assert lock.held and lock.refresh()
    assert json.loads(lock.path.read_text())["pid"] == os.getpid()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="zombies are read from /proc")
def test_lock_of_an_exited_but_unreaped_process_is_taken_over(library: Library) -> None:
    """Killed, but its parent has not collected it yet: signal 0 still reaches the zombie."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        while "Z" not in Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2][:3]:
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.01)
        lock = LibraryLock(library.root)
        _write_lock(lock, host=socket.gethostname(), user=getpass.getuser(), pid=child.pid)
        lock.acquire()
        assert lock.held
    finally:
        child.wait()


def test_old_lock_without_user_of_a_dead_process_is_mine_when_the_file_is(
    library: Library,
) -> None:
    lock = LibraryLock(library.root)
    _write_lock(lock, host=socket.gethostname(), pid=_dead_pid())
    lock.acquire()
    assert lock.held


def test_dead_process_of_another_user_still_asks_and_can_be_taken_over(library: Library) -> None:
    lock = LibraryLock(library.root)
    _write_lock(lock, host=socket.gethostname(), user="someone-else", pid=_dead_pid())
    with pytest.raises(LibraryLockedError) as caught:
        lock.acquire()
    assert caught.value.stale
    assert "no longer running" in str(caught.value)
    lock.take_over()
    assert lock.refresh()


def test_live_process_of_this_user_still_asks(library: Library) -> None:
    lock = LibraryLock(library.root)
    _write_lock(lock, host=socket.gethostname(), user=getpass.getuser(), pid=os.getppid())
    with pytest.raises(LibraryLockedError) as caught:
        lock.acquire()
    assert not caught.value.stale


def test_lock_from_other_host_goes_stale_after_heartbeat_timeout(library: Library) -> None:
    owner = {"host": "other-laptop", "pid": os.getpid(), "time": time.time()}
    assert not LibraryLock.is_stale(owner)
    assert LibraryLock.is_stale(owner, now=time.time() + STALE_AFTER + 1)


def test_taken_over_lock_reports_loss_on_refresh(library: Library) -> None:
    mine = LibraryLock(library.root)
    mine.acquire()
    LibraryLock(library.root).take_over()
    assert not mine.refresh()
    mine.release()
    assert mine.path.exists(), "releasing must not delete the new owner's lock"
