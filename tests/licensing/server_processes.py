"""Real processes the licensing tests and ``benchmarks/licensing_activations.py`` both start:
a throwaway PostgreSQL cluster on a private unix socket, and uvicorn running the license server."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@contextmanager
def running_postgres(bindir: Path, base: Path, *, durable: bool = False) -> Iterator[str]:
    """A fresh cluster under the empty folder ``base`` (no TCP: a unix socket in ``base``);
    yields its SQLAlchemy URL and stops it afterwards. ``durable=False`` turns fsync off,
    for tests; a benchmark measures with it on."""
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
        os.chmod(base, 0o755)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()  # with no TCP listener it only names the socket file

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    pg_ctl = str(bindir / "pg_ctl")
    initdb = str(bindir / "initdb")
    run(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
    options = f"-k {sock} -p {port} -c listen_addresses='' -c max_connections=200"
    if not durable:
        options += " -c fsync=off"
    run(pg_ctl, "-D", str(data), "-w", "-l", str(base / "log"), "-o", options, "start")
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={sock}&port={port}"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
            timeout=60,
        )


def start_license_server(port: int, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """The license server as production runs it (``app_from_env`` under uvicorn), on
    127.0.0.1:``port``, configured by ``env``'s DRAFTSMITH_* variables."""
    return subprocess.Popen(
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
        cwd=REPO,
        env=dict(env),
    )


def wait_until_healthy(url: str, deadline: float) -> None:
    """Poll ``url``'s health endpoint until it answers, or raise once ``deadline``
    (``time.monotonic()``) has passed."""
    while True:
        try:
            requests.get(f"{url}/v1/health", timeout=2).raise_for_status()
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
