from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

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


def test_lock_of_dead_process_is_stale_and_can_be_taken_over(library: Library) -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(child.stdout)
    lock = LibraryLock(library.root)
    lock.path.parent.mkdir(parents=True, exist_ok=True)
    lock.path.write_text(
        json.dumps(
            {"host": socket.gethostname(), "pid": dead_pid, "time": time.time(), "token": "old"}
        )
    )
    with pytest.raises(LibraryLockedError) as caught:
        lock.acquire()
    assert caught.value.stale
    assert "no longer running" in str(caught.value)
    lock.take_over()
    assert lock.refresh()


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
