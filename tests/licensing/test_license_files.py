"""The state file: concurrent updates (the GUI and the background check) lose nothing."""

from __future__ import annotations

import threading

from licensing.client.license_files import read_state, update_state


def test_parallel_updates_of_different_entries_all_survive() -> None:
    def writer(name: str) -> None:
        for i in range(150):
            update_state(**{name: i})

    threads = [threading.Thread(target=writer, args=(f"entry_{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = read_state()
    assert {state.get(f"entry_{n}") for n in range(4)} == {149}
