"""The sync state database is shared by the GUI thread (menus, status, history) and the sync
thread (rounds): neither may see, join or undo the other's statements."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from desktop.sync.state_db import StateDb

ROUNDS = 150


def test_two_threads_keep_their_own_transactions(tmp_path: Path) -> None:
    state = StateDb(tmp_path / "state.db")
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    class Undone(Exception):
        pass

    def sync_thread() -> None:
        start.wait()
        for i in range(ROUNDS):
            if errors:
                return
            try:
                with state.transaction():
                    state.set(f"sync{i}", "kept")
                    state.add_round(float(i), "report")
                    if i % 3 == 0:
                        raise Undone  # a failed round rolls back only its own writes
            except Undone:
                pass

    def gui_thread() -> None:
        start.wait()
        for i in range(ROUNDS):
            if errors:
                return
            state.set(f"gui{i}", "kept")  # one statement, committed at once
            assert state.get("enabled", "1") == "1"
            with state.transaction():
                state.set(f"gui-tx{i}", "kept")
                state.rounds()

    def run(target: Callable[[], None]) -> threading.Thread:
        def guarded() -> None:
            try:
                target()
            except Exception as exc:  # reported below
                errors.append(exc)

        thread = threading.Thread(target=guarded)
        thread.start()
        return thread

    threads = [run(sync_thread), run(gui_thread)]
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    for i in range(ROUNDS):
        assert state.get(f"gui{i}") == "kept"
        assert state.get(f"gui-tx{i}") == "kept"
        assert state.get(f"sync{i}") == (None if i % 3 == 0 else "kept")
    assert len(state.rounds()) == ROUNDS - len(range(0, ROUNDS, 3))
    state.close()
