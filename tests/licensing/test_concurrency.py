"""N parallel activations of a 3-seat license never make a 4th seat (SQLite and PostgreSQL)."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine, func, select

from licensing.client.fingerprint import fingerprint_of
from licensing.server.database import make_engine
from licensing.server.models import Machine
from licensing.server.signing import Signer
from tests.licensing.conftest import RunningServer, running_server, settings_for

CLIENTS = 12


def storm(server: RunningServer, key: str, fingerprints: list[str]) -> list[requests.Response]:
    barrier = threading.Barrier(len(fingerprints))

    def one(fingerprint: str) -> requests.Response:
        with requests.Session() as session:
            barrier.wait(timeout=30)
            return session.post(
                f"{server.url}/v1/activate",
                timeout=60,
                json={
                    "key": key,
                    "fingerprint": fingerprint,
                    "machine_name": fingerprint[:8],
                    "nonce": secrets.token_hex(8),
                },
            )

    with ThreadPoolExecutor(len(fingerprints)) as pool:
        return list(pool.map(one, fingerprints))


def seats(server: RunningServer) -> int:
    with server.sessions() as session:
        return session.execute(select(func.count()).select_from(Machine)).scalar_one()


def check_seat_limit(server: RunningServer) -> None:
    _, key = server.mint(seats=3)
    replies = storm(server, key, [fingerprint_of(f"machine-{i}") for i in range(CLIENTS)])
    codes = Counter(r.status_code for r in replies)
    assert codes == {201: 3, 409: CLIENTS - 3}
    assert seats(server) == 3
    # one machine activating many times at once still takes one seat
    _, key2 = server.mint(seats=3)
    same = storm(server, key2, [fingerprint_of("one-machine")] * 8)
    assert Counter(r.status_code for r in same) == {201: 1, 200: 7}
    assert seats(server) == 4


@pytest.fixture()
def sqlite_server(tmp_path: Path, signer: Signer) -> Iterator[RunningServer]:
    url = f"sqlite:///{tmp_path / 'seats.db'}"
    with running_server(settings_for(url), signer, make_engine(url)) as running:
        yield running


@pytest.fixture()
def postgres_server(
    pg_engine: Engine, postgres_url: str, signer: Signer
) -> Iterator[RunningServer]:
    with running_server(settings_for(postgres_url), signer, pg_engine) as running:
        yield running


def test_seat_limit_holds_under_concurrency_on_sqlite(sqlite_server: RunningServer) -> None:
    check_seat_limit(sqlite_server)


def test_seat_limit_holds_under_concurrency_on_postgresql(postgres_server: RunningServer) -> None:
    check_seat_limit(postgres_server)


def test_sqlite_writer_queue_is_released_after_failed_transactions(tmp_path: Path) -> None:
    from licensing.server.database import make_sessions

    sessions = make_sessions(make_engine(f"sqlite:///{tmp_path / 'q.db'}"))
    for _ in range(3):
        with pytest.raises(RuntimeError), sessions() as session, session.begin():
            session.execute(select(func.count()).select_from(Machine))
            raise RuntimeError("a request failed half-way")
        session = sessions()
        session.execute(select(func.count()).select_from(Machine))
        session.close()  # closed without commit: rolled back

    done = threading.Event()

    def other_thread() -> None:
        with sessions() as session, session.begin():
            session.execute(select(func.count()).select_from(Machine))
        done.set()

    threading.Thread(target=other_thread, daemon=True).start()
    assert done.wait(5), "the writer lock leaked: a later transaction could not start"
