"""Activations per second and latency of the license server, SQLite and PostgreSQL.

Starts the real server (uvicorn, one worker, in a subprocess) on 127.0.0.1 with a throwaway
signing key and database, then CLIENTS threads each activate distinct machines over HTTP
(``requests``). Prints figures; not a test.

    .venv/bin/python benchmarks/licensing_activations.py [--clients 8] [--activations 400]

PostgreSQL runs when its binaries are under /usr/lib/postgresql/*/bin (a temporary cluster
on a unix socket; as root it runs as the ``postgres`` user).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from licensing.client.fingerprint import fingerprint_of  # noqa: E402
from licensing.server import licenses  # noqa: E402
from licensing.server.database import make_engine, make_sessions  # noqa: E402
from licensing.server.signing import write_private_key  # noqa: E402
from tests.licensing.server_processes import (  # noqa: E402
    free_port,
    postgres_bin,
    running_postgres,
    start_license_server,
    wait_until_healthy,
)

WARM_UP = 20  # activations before the measured ones, on seats of their own


def run_one(label: str, db_url: str, key_path: Path, clients: int, total: int) -> None:
    sessions = make_sessions(make_engine(db_url))
    seats_per_license = 50
    keys = []
    with sessions() as session, session.begin():
        for _ in range((total + WARM_UP) // seats_per_license + 1):
            _, key = licenses.mint(
                session,
                edition="standard",
                entitlements=["ai", "sync"],
                max_machines=seats_per_license,
                purchased_at=dt.date.today(),
                updates_until=dt.date.today() + dt.timedelta(days=365),
            )
            keys.append(key)
    port = free_port()
    env = dict(
        os.environ,
        DRAFTSMITH_LICENSE_DB=db_url,
        DRAFTSMITH_LICENSE_SIGNING_KEY=str(key_path),
        DRAFTSMITH_LICENSE_KID="bench",
        DRAFTSMITH_LOOKUPS_PER_MINUTE="100000000",
        DRAFTSMITH_FAILED_LOOKUPS="100000000",
    )
    server = start_license_server(port, env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, time.monotonic() + 60)
        latencies: list[float] = []
        failures = 0
        lock = threading.Lock()
        local = threading.local()

        def activate(i: int) -> None:
            nonlocal failures
            if not hasattr(local, "session"):
                local.session = requests.Session()
            body = {
                "key": keys[i // seats_per_license],
                "fingerprint": fingerprint_of(f"{label}-{i}"),
                "machine_name": f"m{i}",
                "nonce": secrets.token_hex(8),
            }
            started = time.perf_counter()
            reply = local.session.post(f"{url}/v1/activate", json=body, timeout=60)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if reply.status_code != 201:
                    failures += 1

        for i in range(WARM_UP):  # connections, caches
            activate(total + i)
        latencies.clear()
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(activate, range(total)))
        wall = time.perf_counter() - started
        latencies.sort()
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
        print(
            f"{label:<11} {clients:>3} clients  {total} activations  "
            f"{total / wall:7.1f} activations/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
            f"failures {failures}"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--activations", type=int, default=400)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="draftsmith-bench-"))
    key_path = base / "keys" / "bench.pem"
    write_private_key(key_path)
    print(
        f"license server benchmark: 1 uvicorn worker, {os.cpu_count()} CPUs, "
        "client and server on this machine"
    )
    try:
        run_one(
            "SQLite", f"sqlite:///{base / 'bench.db'}", key_path, args.clients, args.activations
        )
        bindir = postgres_bin()
        if bindir is None:
            print("PostgreSQL    skipped: no binaries under /usr/lib/postgresql/*/bin")
        else:
            pg_base = Path(tempfile.mkdtemp(prefix="draftsmith-pg-"))  # postgres must own it
            try:
                with running_postgres(bindir, pg_base, durable=True) as pg_url:
                    run_one("PostgreSQL", pg_url, key_path, args.clients, args.activations)
            finally:
                shutil.rmtree(pg_base, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
