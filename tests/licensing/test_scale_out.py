"""Two license server processes behind one address, sharing one PostgreSQL: seat limits,
webhook idempotency and rate limits hold across both (nothing lives in process memory)."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select

from licensing.client.fingerprint import fingerprint_of
from licensing.client.license_key import generate_key
from licensing.server import licenses
from licensing.server.database import make_sessions
from licensing.server.models import License
from licensing.server.stripe_webhook import sign
from tests.licensing.conftest import TEST_KID
from tests.licensing.server_processes import (
    REPO,
    free_port,
    start_license_server,
    wait_until_healthy,
)
from tests.licensing.test_webhook import SECRET, Inbox, checkout_event, smtp

__all__ = ["smtp"]


class RoundRobinProxy:
    """One address in front of several backends: each new connection goes to the next one."""

    def __init__(self, backends: list[int]) -> None:
        self.backends = itertools.cycle(backends)
        self.served: Counter[int] = Counter()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            port = next(self.backends)
            self.served[port] += 1
            backend = socket.create_connection(("127.0.0.1", port))
            for a, b in ((client, backend), (backend, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture()
def two_servers(
    pg_engine: Engine,
    postgres_url: str,
    private_key: Ed25519PrivateKey,
    tmp_path: Path,
    smtp: tuple[Inbox, int],
) -> Iterator[tuple[RoundRobinProxy, Any]]:
    key_file = tmp_path / "signing.pem"
    key_file.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    sessions = make_sessions(pg_engine)  # the schema exists before either process starts
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DRAFTSMITH_LICENSE_DB": postgres_url,
        "DRAFTSMITH_LICENSE_SIGNING_KEY": str(key_file),
        "DRAFTSMITH_LICENSE_KID": TEST_KID,
        "DRAFTSMITH_STRIPE_WEBHOOK_SECRET": SECRET,
        "DRAFTSMITH_SMTP_HOST": "127.0.0.1",
        "DRAFTSMITH_SMTP_PORT": str(smtp[1]),
        "DRAFTSMITH_LOOKUPS_PER_MINUTE": "1000",
        "DRAFTSMITH_FAILED_LOOKUPS": "5",
    }
    ports = [free_port(), free_port()]
    processes = [start_license_server(port, env) for port in ports]
    try:
        deadline = time.monotonic() + 60
        for port in ports:
            wait_until_healthy(f"http://127.0.0.1:{port}", deadline)
        proxy = RoundRobinProxy(ports)
        yield proxy, sessions
        proxy.close()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


def activate(url: str, key: str, name: str) -> int:
    reply = requests.post(
        f"{url}/v1/activate",
        json={
            "key": key,
            "fingerprint": fingerprint_of(name),
            "machine_name": name,
            "nonce": secrets.token_hex(8),
        },
        timeout=30,
    )
    return reply.status_code


def test_two_processes_behind_one_address_share_every_limit(
    two_servers: tuple[RoundRobinProxy, Any], smtp: tuple[Inbox, int]
) -> None:
    proxy, sessions = two_servers

    # Seat limits: 10 machines race for 2 seats through both processes.
    with sessions() as session, session.begin():
        _, key = licenses.mint(
            session,
            edition="standard",
            entitlements=("ai", "sync"),
            max_machines=2,
            purchased_at=dt.date(2026, 6, 1),
            updates_until=dt.date(2027, 6, 1),
        )
    with ThreadPoolExecutor(10) as pool:
        codes = Counter(pool.map(lambda i: activate(proxy.url, key, f"m{i}"), range(10)))
    assert codes == {201: 2, 409: 8}

    # Webhook idempotency: Stripe delivers one paid checkout six times at once.
    body = json.dumps(checkout_event(event_id="evt_multi", session_id="cs_multi")).encode()

    def deliver(_: int) -> int:
        return requests.post(
            f"{proxy.url}/v1/webhooks/stripe",
            data=body,
            headers={"Stripe-Signature": sign(SECRET, body, int(time.time()))},
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(6) as pool:
        assert set(pool.map(deliver, range(6))) == {200}
    with sessions() as session:
        minted = session.execute(select(License).where(License.order_ref == "cs_multi")).all()
    assert len(minted) == 1 and len(smtp[0].messages) == 1

    # Rate limits: 5 failed lookups spread over both processes block the address on both.
    for i in range(5):
        assert activate(proxy.url, generate_key(), f"guess{i}") == 404
    assert activate(proxy.url, key, "m0") == 429
    assert activate(proxy.url, key, "m1") == 429
    assert len(proxy.served) == 2 and min(proxy.served.values()) >= 5  # both really served
