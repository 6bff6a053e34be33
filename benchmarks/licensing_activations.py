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
import glob
import os
import secrets
import shutil
import socket
import statistics
import subprocess
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_postgres(base: Path) -> tuple[str, list[str], Path] | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        return None
    bindir = Path(found[-1]).parent
    data, sock = base / "pg", base / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
        os.chmod(base, 0o755)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [
            *as_user,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(base / "pg.log"),
            "-o",
            f"-k {sock} -p {port} -c listen_addresses='' -c max_connections=200",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    stop = [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]
    return f"postgresql+psycopg://postgres@/postgres?host={sock}&port={port}", stop, data


def run_one(label: str, db_url: str, key_path: Path, clients: int, total: int) -> None:
    sessions = make_sessions(make_engine(db_url))
    seats_per_license = 50
    keys = []
    with sessions() as session, session.begin():
        for _ in range(total // seats_per_license + 1):
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
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "licensing.server.app:app_from_env",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/v1/health", timeout=2).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
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

        for i in range(min(20, total)):  # warm-up (connections, caches)
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
    stop: list[str] | None = None
    try:
        run_one(
            "SQLite", f"sqlite:///{base / 'bench.db'}", key_path, args.clients, args.activations
        )
        pg = start_postgres(base)
        if pg is None:
            print("PostgreSQL    skipped: no binaries under /usr/lib/postgresql/*/bin")
        else:
            pg_url, stop, _ = pg
            run_one("PostgreSQL", pg_url, key_path, args.clients, args.activations)
    finally:
        if stop:
            subprocess.run(stop, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
