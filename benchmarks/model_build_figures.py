"""What `draftsmith-model build` costs for one GGUF file (not a test).

    .venv/bin/python benchmarks/model_build_figures.py FILE.gguf [--variants q4] [--max-context N]

Builds into a fresh temporary cache (never the machine's model cache) in a subprocess and
prints the wall time, the build's peak RSS (the subprocess's own, from getrusage) and the
size of every file of the model folder."""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gguf", type=Path)
    parser.add_argument("--variants", default="q4")
    parser.add_argument("--max-context", type=int)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="draftsmith-build-") as cache:
        command = [
            sys.executable,
            "-m",
            "inference.export.cli",
            "build",
            str(args.gguf),
            "--cache-dir",
            cache,
            "--variants",
            args.variants,
        ]
        if args.max_context:
            command += ["--max-context", str(args.max_context)]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stdout, done.stderr, sep="\n")
            return done.returncode
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        folders = [p for p in Path(cache).iterdir() if p.is_dir() and p.name != "sources"]
        print(f"source: {args.gguf.name} ({args.gguf.stat().st_size / 1e6:.1f} MB)")
        print(f"build: {seconds:.0f} s wall, peak RSS {peak_mb:.0f} MB")
        for path in sorted(folders[0].iterdir()):
            print(f"  {path.name}: {path.stat().st_size / 1e6:.1f} MB")
        print(done.stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
