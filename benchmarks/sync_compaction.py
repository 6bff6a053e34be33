"""How much compaction shrinks the sync folder (never a pass/fail test).

    .venv/bin/python benchmarks/sync_compaction.py [--docs 200] [--days 365] [--edits 3]

Two devices share a WsgiDAV folder on 127.0.0.1 while a simulated year passes (a clock the
engines read, no sleeping): every day device A saves ``--edits`` random documents, and on
one day in three saves one of them again later that day; device B syncs every third day.
Compaction is off during the year. Then it is switched on with the default policy (every
version for 30 days, one a day for a year, one a month after that): A compacts, B reads the
announcement, and a day later A compacts again, deleting what was announced. Prints the
server folder's file count and size before and after, and how many files a new device
reads when it joins, before and after.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keyring

from desktop.sync import compaction
from tests.keyring_memory import MemoryKeyring
from tests.sync.dav_harness import Clock, Fleet, running_proxy, running_wsgidav


def _folder(root: Path) -> tuple[int, int, dict[str, int]]:
    files = [p for p in root.rglob("*") if p.is_file()]
    parts: dict[str, int] = {}
    for p in files:
        top = p.relative_to(root).parts[0]
        parts[top] = parts.get(top, 0) + 1
    return len(files), sum(p.stat().st_size for p in files), parts


def _show(label: str, root: Path) -> None:
    count, size, parts = _folder(root)
    detail = ", ".join(f"{k} {v}" for k, v in sorted(parts.items()))
    print(f"{label:<28} {count:6d} files {size / 1e6:8.2f} MB   ({detail})")


def _join_reads(fleet: Fleet, url: str, name: str, clock: Clock) -> int:
    with running_proxy(url) as proxy:
        device = fleet.add(name, url=proxy.url)
        device.engine.clock = clock
        device.engine.state.set("compaction", "off")
        device.sync()
        reads = sum(1 for method, _, _ in proxy.log if method == "GET")
    fleet.devices.remove(device)
    device.engine.forget_device()
    return reads


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--edits", type=int, default=3)
    args = parser.parse_args()
    keyring.set_keyring(MemoryKeyring())
    rng = random.Random(2026)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "dav"
        root.mkdir()
        with running_wsgidav(root) as server:
            clock = Clock()
            fleet = Fleet(tmp, server.url)
            a, b = fleet.add("A"), fleet.add("B")
            for device in (a, b):
                device.engine.clock = clock
                device.engine.state.set("compaction", "off")
            for n in range(args.docs):
                a.write(f"chapter {n:03d}.md", f"# Chapter {n}\n\n" + "Lorem ipsum. " * 200)
            fleet.sync_all(1)
            for day in range(args.days):
                clock.advance(1)
                chosen = rng.sample(range(args.docs), args.edits)
                for n in chosen:
                    path = a.library / f"chapter {n:03d}.md"
                    path.write_text(path.read_text() + f"Day {day}: a new paragraph. " * 5)
                a.sync()
                if day % 3 == 0:
                    clock.now += 4 * 3600
                    path = a.library / f"chapter {chosen[0]:03d}.md"
                    path.write_text(path.read_text() + "Evening revision. ")
                    a.sync()
                if day % 3 == 2:
                    b.sync()
            b.sync()
            print(f"simulated {args.days} days in {time.perf_counter() - started:.0f} s")
            _show("before compaction", root)
            joined_before = _join_reads(fleet, server.url, "Before", clock)
            for device in (a, b):
                device.engine.state.set("compaction", "on")
            clock.advance(1)
            first = compaction.compact(a.engine, force=True)
            b.sync()
            clock.advance(1)
            second = compaction.compact(a.engine, force=True)
            print(f"first compaction:  {first}")
            print(f"second compaction: {second}")
            _show("after compaction", root)
            joined_after = _join_reads(fleet, server.url, "After", clock)
            print(f"a new device reads {joined_before} files before, {joined_after} after")
            fleet.close()


if __name__ == "__main__":
    main()
