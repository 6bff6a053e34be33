"""Sync figures against a local WsgiDAV server on 127.0.0.1 (never a pass/fail test).

    .venv/bin/python benchmarks/sync_throughput.py [--docs 1000] [--big-mb 50] [--no-kdf]

Prints: the passphrase-key cost at production Argon2id settings, a first sync of many small
documents (upload on one device, download on another), a round with nothing to do on each,
and one large document each way with the peak Python memory of the round. Each sync line
also shows how many HTTP requests the round made.
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


def _sent() -> int:
    return next(_requests)  # the counter itself moves by one per read; callers subtract


def _timed(label: str, fn):
    before = _sent()
    start = time.perf_counter()
    result = fn()
    took = time.perf_counter() - start
    print(f"{label:<52} {took:8.2f} s  {_sent() - before - 1:7d} requests", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--big-mb", type=int, default=50, help="0 skips the large document")
    parser.add_argument("--no-kdf", action="store_true", help="skip the Argon2id figure")
    args = parser.parse_args()
    keyring.set_keyring(MemoryKeyring())

    if not args.no_kdf:
        _timed(
            "Argon2id passphrase key (64 MiB, t=3, p=4)",
            lambda: passphrase_key(PASSPHRASE, os.urandom(16), KdfParams()),
        )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "dav").mkdir()
        with running_wsgidav(tmp / "dav", USER, PASSWORD) as server:
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
            for i in range(args.docs):
                (libs["a"] / f"folder {i % 20}").mkdir(exist_ok=True)
                (libs["a"] / f"folder {i % 20}" / f"doc {i}.md").write_text(
                    f"# Doc {i}\n\n" + "words " * 300
                )
            report = _timed(f"first sync, {args.docs} documents, upload", a.sync_once)
            assert report.ok, report.error
            report = _timed(f"first sync, {args.docs} documents, download", b.sync_once)
            assert report.ok and len(report.downloaded) == args.docs, report.error
            _timed(f"round with nothing to do ({args.docs} docs, uploader)", a.sync_once)
            _timed(f"round with nothing to do ({args.docs} docs, downloader)", b.sync_once)

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
                    print(f"{'  peak Python memory during that round':<52} {peak / 2**20:8.1f} MiB")
            a.close()
            b.close()


if __name__ == "__main__":
    main()
