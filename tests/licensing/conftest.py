"""Licensing fixtures: a test signing key the client trusts (through the test-only seam),
a real license server on 127.0.0.1 (uvicorn in a thread, SQLite in tmp_path), and a
throwaway PostgreSQL cluster for the concurrency tests."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from licensing.client import keyring_store, status
from licensing.client.trusted_keys import override_for_tests
from licensing.server import licenses
from licensing.server.app import create_app
from licensing.server.database import make_engine
from licensing.server.settings import Settings
from licensing.server.signing import Signer
from tests.licensing.server_processes import postgres_bin, running_postgres

TEST_KID = "test-1"


@pytest.fixture(scope="session")
def private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture()
def signer(private_key: Ed25519PrivateKey) -> Signer:
    return Signer(private_key, TEST_KID)


@pytest.fixture(autouse=True)
def trust_test_key(private_key: Ed25519PrivateKey) -> Iterator[None]:
    keyring_store._reset_breaker()
    status.invalidate_status_cache()
    with override_for_tests({TEST_KID: private_key.public_key()}):
        yield
    keyring_store._reset_breaker()
    status.invalidate_status_cache()


def cert_payload(**changes: Any) -> dict[str, Any]:
    from licensing.client.fingerprint import machine_fingerprint

    payload = {
        "v": 1,
        "license_id": "lic_test",
        "machine_id": "m_test",
        "product": "draftsmith",
        "edition": "standard",
        "entitlements": ["ai", "sync"],
        "purchased_at": "2026-01-10",
        "updates_until": "2027-01-10",
        "fingerprint": machine_fingerprint(),
        "issued": 1_780_000_000,
        "refresh_after": 1_782_592_000,
        "nonce": "n0nce",
    }
    payload.update(changes)
    return payload


@dataclass
class RunningServer:
    url: str
    settings: Settings
    sessions: sessionmaker[Session]
    engine: Engine
    app: Any

    def mint(
        self,
        *,
        seats: int = 3,
        status: str = "active",
        edition: str = "standard",
        updates_until: dt.date = dt.date(2027, 6, 1),
        entitlements: tuple[str, ...] = ("ai", "sync"),
    ) -> tuple[str, str]:
        with self.sessions() as session, session.begin():
            lic, key = licenses.mint(
                session,
                edition=edition,
                entitlements=entitlements,
                max_machines=seats,
                purchased_at=dt.date(2026, 6, 1),
                updates_until=updates_until,
                status=status,
            )
            return lic.id, key


def serve(app: Any) -> tuple[str, uvicorn.Server, threading.Thread]:
    """Run ``app`` with uvicorn on 127.0.0.1. The socket is listening before the thread
    starts, so clients can connect at once (the kernel queues them until uvicorn accepts)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{port}", server, thread


@contextmanager
def running_server(settings: Settings, signer: Signer, engine: Engine) -> Iterator[RunningServer]:
    app = create_app(settings, signer=signer, engine=engine)
    url, server, thread = serve(app)
    try:
        yield RunningServer(url, settings, app.state.sessions, engine, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


def settings_for(database_url: str, **changes: Any) -> Settings:
    base = Settings(
        database_url=database_url,
        signing_kid=TEST_KID,
        stripe_webhook_secret="whsec_test_secret",
        smtp_host="127.0.0.1",
        smtp_port=1,
        lookups_per_minute=1000,
        failed_lookups_per_window=1000,
    )
    return replace(base, **changes)


@pytest.fixture()
def server(tmp_path: Path, signer: Signer) -> Iterator[RunningServer]:
    url = f"sqlite:///{tmp_path / 'licenses.db'}"
    with running_server(settings_for(url), signer, make_engine(url)) as running:
        yield running


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster in a temp dir, on a private unix socket (no TCP)."""
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip(
            "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin "
            "(install the Debian package 'postgresql'; `make test` does)"
        )
    base = Path(tempfile.mkdtemp(prefix="draftsmith-pg-"))
    try:
        with running_postgres(bindir, base) as url:
            yield url
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture()
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    """A clean schema per test."""
    from licensing.server.models import Base

    engine = make_engine(postgres_url)
    Base.metadata.drop_all(engine)
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()
