"""Real WebDAV servers on 127.0.0.1 (WsgiDAV in-process, rclone from Debian), a small
fault-injecting HTTP proxy, and a helper that sets up several devices.

Shared by the sync tests (through the fixtures in conftest.py) and by
benchmarks/sync_throughput.py, so both run against the same server set-up."""

from __future__ import annotations

import contextlib
import http.client
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from cheroot import wsgi
from wsgidav.wsgidav_app import WsgiDAVApp

from desktop.sync import Connection, KdfParams, SyncEngine, create_remote, join_remote
from desktop.sync.webdav import WebDavClient

USER = "writer"
PASSWORD = "app-pass-123"
PASSPHRASE = "correct horse battery"
# Cheapest Argon2id the library accepts: tests exercise the code path, not the cost.
TEST_KDF = KdfParams(memory_kib=8, iterations=1, lanes=1)


@dataclass
class DavServer:
    kind: str
    url: str
    root: Path

    def client(self, url: str | None = None) -> WebDavClient:
        return WebDavClient(url or self.url, USER, PASSWORD, timeout=10)


@contextlib.contextmanager
def running_wsgidav(
    root: Path, user: str = USER, password: str = PASSWORD, latency_s: float = 0.0
) -> Iterator[DavServer]:
    """WsgiDAV serving ``root`` on a free port of 127.0.0.1, in this process.

    ``latency_s``: each request waits this long first, like a server across the internet
    (the benchmark uses it to show what parallel transfers buy)."""
    config = {
        "host": "127.0.0.1",
        "port": 0,
        "provider_mapping": {"/": str(root)},
        "simple_dc": {"user_mapping": {"*": {user: {"password": password}}}},
        "http_authenticator": {
            "accept_basic": True,
            "accept_digest": False,
            "default_to_digest": False,
        },
        "verbose": 0,
        "logging": {"enable": False},
    }
    app = WsgiDAVApp(config)
    if latency_s > 0:
        dav_app = app
        pause = threading.Event()  # never set: wait(timeout) is a plain delay

        def app(environ, start_response):  # type: ignore[no-untyped-def]
            pause.wait(latency_s)
            return dav_app(environ, start_response)

    server = wsgi.Server(("127.0.0.1", 0), app, numthreads=8)
    server.expiration_interval = 0.05  # how often the accept loop notices stop()
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield DavServer("wsgidav", f"http://127.0.0.1:{server.bind_addr[1]}/", root)
    finally:
        server.stop()
        thread.join(timeout=10)


@contextlib.contextmanager
def running_rclone(root: Path, config_dir: Path) -> Iterator[DavServer]:
    """`rclone serve webdav` (a separate Go server) serving ``root``; needs rclone on PATH."""
    binary = shutil.which("rclone")
    if binary is None:
        raise FileNotFoundError("rclone")
    proc = subprocess.Popen(
        [
            binary,
            "serve",
            "webdav",
            str(root),
            "--addr",
            "127.0.0.1:0",
            "--user",
            USER,
            "--pass",
            PASSWORD,
            "--config",
            str(config_dir / "rclone.conf"),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    port = None
    for line in proc.stderr:  # rclone prints its address once it listens
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if match:
            port = int(match.group(1))
            break
    if port is None:
        proc.kill()
        raise RuntimeError("rclone serve webdav did not start")
    # Keep draining stderr so rclone never blocks on a full pipe.
    drain = threading.Thread(target=lambda: proc.stderr.read(), daemon=True)  # type: ignore[union-attr]
    drain.start()
    try:
        yield DavServer("rclone", f"http://127.0.0.1:{port}/", root)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- fault-injecting proxy -------------------------------------------------------------

Fault = str | None  # "drop", "drop_after", "truncate_upload", "truncate_download",
# "truncate_unsized[:share]" (a cut body without Content-Length),
# "status:NNN", "html", "garbage_xml", "empty_multistatus", "delay"


@dataclass
class FaultProxy:
    upstream: str
    url: str = ""
    policy: Callable[[str, str], Fault] = field(default=lambda method, path: None)
    log: list[tuple[str, str, Fault]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def set_policy(self, policy: Callable[[str, str], Fault]) -> None:
        self.policy = policy

    def clear(self) -> None:
        self.policy = lambda method, path: None


def _make_handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    up = urlsplit(proxy.upstream)
    pause = threading.Event()  # never set: wait(timeout) is a plain delay

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in separate writes

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fault = proxy.policy(self.command, self.path)
            proxy.log.append((self.command, self.path, fault))
            if fault == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault and fault.startswith("status:"):
                code = int(fault.split(":")[1])
                self._reply(code, b"", "text/plain")
                return
            if fault == "html":
                page = b"<!DOCTYPE html><html><body><form>Log in</form></body></html>"
                self._reply(200, page, "text/html; charset=utf-8")
                return
            if fault == "garbage_xml":
                self._reply(
                    207,
                    b"<?xml version='1.0'?><d:multistatus xmlns:d='DAV:'><d:resp",
                    "application/xml",
                )
                return
            if fault == "empty_multistatus":
                self._reply(
                    207, b"<?xml version='1.0'?><d:multistatus xmlns:d='DAV:'/>", "application/xml"
                )
                return
            if fault == "delay":
                pause.wait(0.05)
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
            }
            dest = headers.get("Destination")
            if dest:
                headers["Destination"] = proxy.upstream.rstrip("/") + urlsplit(dest).path
            if fault == "truncate_upload" and body:
                # The server sees a PUT whose connection dies halfway through the body.
                conn.putrequest(self.command, self.path, skip_host=False)
                for key, value in headers.items():
                    conn.putheader(key, value)
                conn.endheaders()
                conn.send(body[: len(body) // 2])
                conn.close()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            conn.request(self.command, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            conn.close()
            if fault == "drop_after":
                # The request happened; the answer is lost.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() in ("transfer-encoding", "connection", "content-length"):
                    continue
                self.send_header(key, value)
            if fault and fault.startswith("truncate_unsized"):
                # No Content-Length: the body ends when the connection closes, so a cut body
                # looks complete to the client. "truncate_unsized:0.25" keeps a quarter.
                share = float(fault.partition(":")[2] or 0.5)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data[: int(len(data) * share)])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if fault == "truncate_download":
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(data)

        def _reply(self, code: int, body: bytes, ctype: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_PROPFIND = do_MKCOL = do_MOVE = do_DELETE = do_HEAD = _handle
        do_OPTIONS = do_COPY = do_LOCK = do_UNLOCK = do_PROPPATCH = _handle

    return Handler


@contextlib.contextmanager
def running_proxy(upstream: str) -> Iterator[FaultProxy]:
    p = FaultProxy(upstream=upstream)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(p))
    server.daemon_threads = True
    p.url = f"http://127.0.0.1:{server.server_address[1]}/"
    p._server = server
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield p
    finally:
        server.shutdown()
        server.server_close()


# --- devices ---------------------------------------------------------------------------


@dataclass
class Device:
    name: str
    library: Path
    engine: SyncEngine

    def write(self, rel: str, text: str | bytes) -> Path:
        path = self.library / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, str):
            path.write_text(text, encoding="utf-8")
        else:
            path.write_bytes(text)
        return path

    def read(self, rel: str) -> str:
        return (self.library / rel).read_text(encoding="utf-8")

    def files(self) -> dict[str, str]:
        out = {}
        for path in sorted(self.library.rglob("*")):
            rel = path.relative_to(self.library).as_posix()
            if path.is_file() and not rel.startswith("."):
                out[rel] = path.read_text(encoding="utf-8")
        return out

    def sync(self, expect_ok: bool = True):
        report = self.engine.sync_once()
        if expect_ok:
            assert report.error is None, report.error
        return report


class Fleet:
    """Devices sharing one remote. The first creates it; the rest join with the passphrase."""

    def __init__(self, tmp_path: Path, url: str) -> None:
        self.tmp_path = tmp_path
        self.url = url
        self.devices: list[Device] = []
        self.recovery_key = ""

    def connection(self, name: str) -> Connection:
        return Connection(self.url, USER, PASSWORD, device_name=name)

    def client(self, url: str | None = None) -> WebDavClient:
        return WebDavClient(url or self.url, USER, PASSWORD, timeout=10)

    def add(
        self,
        name: str,
        confirm_deletes: Callable[[list[str]], bool] | None = None,
        url: str | None = None,
    ) -> Device:
        library = self.tmp_path / "libraries" / name
        library.mkdir(parents=True, exist_ok=True)
        state = self.tmp_path / "state" / name / "sync.sqlite"
        if not self.devices:
            engine, self.recovery_key = create_remote(
                self.connection(name),
                PASSPHRASE,
                state,
                library,
                kdf=TEST_KDF,
                client=self.client(url),
                confirm_deletes=confirm_deletes,
            )
        else:
            engine = join_remote(
                self.connection(name),
                state,
                library,
                passphrase=PASSPHRASE,
                client=self.client(url),
                confirm_deletes=confirm_deletes,
            )
        device = Device(name, library, engine)
        self.devices.append(device)
        return device

    def sync_all(self, rounds: int = 2) -> None:
        for _ in range(rounds):
            for device in self.devices:
                device.sync()

    def close(self) -> None:
        for device in self.devices:
            device.engine.close()


class Clock:
    """A clock the sync engines read (``engine.clock = clock``): tests move days on without
    sleeping."""

    DAY = 86400.0

    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, days: float = 1.0) -> None:
        self.now += days * self.DAY
