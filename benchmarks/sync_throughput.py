"""Sync figures against a local WsgiDAV server on 127.0.0.1 (never a pass/fail test).

    .venv/bin/python benchmarks/sync_throughput.py [--docs 1000] [--big-mb 50] [--no-kdf]
        [--connections 1,6] [--latency-ms 0]

Prints: the passphrase-key cost at production Argon2id settings; then, for each number of
parallel transfer connections, a first sync of many small documents (upload on one device,
download on another), a round with nothing to do on each, and one large document each way
with the peak Python memory of the round. Each sync line also shows how many HTTP requests
the round made; the last lines compare the connection counts (same run, same machine).
``--latency-ms`` makes the server wait that long before each answer, like a server across
the internet (on 127.0.0.1 a round is bound by this machine's CPU and disk instead).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keyring
import requests

from desktop.sync import Connection, KdfParams, create_remote, join_remote
from desktop.sync.crypto import passphrase_key
from desktop.sync.webdav import WebDavClient
from tests.keyring_memory import MemoryKeyring
from tests.sync.dav_harness import TEST_KDF, running_wsgidav

USER, PASSWORD, PASSPHRASE = "writer", "app-pass", "benchmark passphrase"

_requests = itertools.count()
_send = requests.Session.request


def _counted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
    next(_requests)
    return _send(self, *args, **kwargs)


requests.Session.request = _counted  # type: ignore[method-assign]


def _timed(label: str, fn, figures: dict[str, float] | None = None):
    before = next(_requests)
    start = time.perf_counter()
    result = fn()
    took = time.perf_counter() - start
    sent = next(_requests) - before - 1
    print(f"{label:<56} {took:8.2f} s  {sent:7d} requests", flush=True)
    if figures is not None:
        figures[label] = took
    return result


def _connections(engine, n: int) -> str:  # type: ignore[no-untyped-def]
    transfers = getattr(engine, "transfers", None)
    if transfers is None:
        return "one at a time (code without parallel transfers)"
    transfers.connections = n
    return f"{n} connection{'s' if n > 1 else ''}"


def scenario(args: argparse.Namespace, connections: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "dav").mkdir()
        latency = args.latency_ms / 1000
        with running_wsgidav(tmp / "dav", USER, PASSWORD, latency_s=latency) as server:
            url = server.url
            libs = {name: tmp / name for name in ("a", "b")}
            for lib in libs.values():
                lib.mkdir()
            conn = Connection(url, USER, PASSWORD)
            client = lambda: WebDavClient(url, USER, PASSWORD)  # noqa: E731
            a, _ = create_remote(
                conn, PASSPHRASE, tmp / "sa" / "s.sqlite", libs["a"], kdf=TEST_KDF, client=client()
            )
            b = join_remote(
                conn, tmp / "sb" / "s.sqlite", libs["b"], passphrase=PASSPHRASE, client=client()
            )
            mode = _connections(a, connections)
            _connections(b, connections)
            print(f"\n-- {mode}, {args.latency_ms} ms per request --", flush=True)
            for i in range(args.docs):
                (libs["a"] / f"folder {i % 20}").mkdir(exist_ok=True)
                (libs["a"] / f"folder {i % 20}" / f"doc {i}.md").write_text(
                    f"# Doc {i}\n\n" + "words " * 300
                )
            n = args.docs
            report = _timed(f"first sync, {n} documents, upload", a.sync_once, figures)
            assert report.ok, report.error
            report = _timed(f"first sync, {n} documents, download", b.sync_once, figures)
            assert report.ok and len(report.downloaded) == n, report.error
            _timed(f"round with nothing to do ({n} docs, uploader)", a.sync_once, figures)
            _timed(f"round with nothing to do ({n} docs, downloader)", b.sync_once, figures)

            if args.big_mb:
                block = os.urandom(1024 * 1024).hex()[: 1024 * 1024].encode()
                with (libs["a"] / "big.md").open("wb") as fh:
                    for _ in range(args.big_mb):
                        fh.write(block)
                for label, engine in (("upload", a), ("download", b)):
                    tracemalloc.start()
                    report = _timed(f"{args.big_mb} MB document, {label}", engine.sync_once)
                    peak = tracemalloc.get_traced_memory()[1]
                    tracemalloc.stop()
                    assert report.ok, report.error
                    print(f"{'  peak Python memory during that round':<56} {peak / 2**20:8.1f} MiB")
            a.close()
            b.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--big-mb", type=int, default=50, help="0 skips the large document")
    parser.add_argument("--no-kdf", action="store_true", help="skip the Argon2id figure")
    parser.add_argument(
        "--connections", default="1,6", help="parallel transfer connections to compare"
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="server delay per request")
    args = parser.parse_args()
    keyring.set_keyring(MemoryKeyring())

    if not args.no_kdf:
        _timed(
            "Argon2id passphrase key (64 MiB, t=3, p=4)",
            lambda: passphrase_key(PASSPHRASE, os.urandom(16), KdfParams()),
        )
    counts = [int(c) for c in args.connections.split(",")]
    runs = [(c, scenario(args, c)) for c in counts]
    if len(runs) > 1:
        (base_n, base), *others = runs
        print()
        for n, figures in others:
            for label, took in figures.items():
                ratio = base[label] / took if took else float("inf")
                print(f"{label:<56} {ratio:6.2f}x faster with {n} than {base_n}")


if __name__ == "__main__":
    main()
