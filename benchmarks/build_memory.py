"""Peak memory of `draftsmith-model build` for the default model or a synthetic large shape
(not a test).

    .venv/bin/python benchmarks/build_memory.py write 1b /tmp/llama-1b.gguf
    .venv/bin/python benchmarks/build_memory.py measure FILE.gguf [--variants q4] [--limit-gb 8]
    .venv/bin/python benchmarks/build_memory.py measure default

``write`` makes a random-weight GGUF of a real model's shape (tests/wide_gguf.py: Q4_0
linear weights, Q8_0 embedding): the build's memory depends on the shapes, not the values.
``measure`` builds it into a fresh temporary cache in a subprocess, samples the
subprocess's resident memory every 0.2 s (naming the build step running at the peak), stops
it if it passes ``--limit-gb`` (a shared machine), and prints the peak RSS from getrusage
(the kernel's own high-water mark) as JSON. ``--source DIR`` runs another checkout of the
pipeline (a before/after pair)."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.wide_gguf import WideShape, write_wide_gguf  # noqa: E402

SHAPES = {
    # Llama 3.2 1B / 3B (tied embeddings), and the 2-layer wide-vocabulary case the README
    # quoted before (qwen2-like 152k x 896 embedding).
    "1b": WideShape(2048, 16, 32, 8, 8192, 128256),
    "3b": WideShape(3072, 28, 24, 8, 8192, 128256),
    "wide-vocab": WideShape(896, 2, 14, 2, 4864, 151936),
}


def _rss_bytes(pid: int) -> dict[str, int]:
    """VmRSS and its parts: RssAnon (the process's own memory) and RssFile (mapped file pages,
    e.g. the GGUF, which the kernel can drop and re-read)."""
    values = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                key = line.split(":")[0]
                if key in ("VmRSS", "RssAnon", "RssFile"):
                    values[key] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return values


def measure(gguf: str, variants: str | None, limit_gb: float, source: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="draftsmith-build-mem-") as cache:
        command = [sys.executable, "-m", "inference.export.cli", "build"]
        if gguf != "default":
            command.append(gguf)
        command += ["--cache-dir", cache]
        if gguf == "default":
            # The already downloaded default GGUF, copied into this cache's sources.
            sources = Path(cache) / "sources"
            sources.mkdir()
            known = Path.home() / ".cache/Draftsmith/models/sources"
            for path in known.glob("*.gguf"):
                shutil.copyfile(path, sources / path.name)
        if variants:
            command += ["--variants", variants]
        environment = dict(os.environ, PYTHONPATH=str(source))
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=source,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        steps: list[str] = []
        output: list[str] = []
        timeline: list[str] = []
        peaks_by_step: dict[str, float] = {}

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                output.append(line)
                if line.rstrip().endswith("…"):
                    steps.append(line.strip().rstrip("…"))
                    timeline.append(f"{time.perf_counter() - started:.0f}s {steps[-1]}")

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        peak, peak_step, peak_anon, peak_parts, killed = 0, "", 0, {}, False
        while process.poll() is None:
            parts = _rss_bytes(process.pid)
            rss = parts.get("VmRSS", 0)
            if rss > peak:
                peak, peak_step, peak_parts = rss, steps[-1] if steps else "start", parts
            peak_anon = max(peak_anon, parts.get("RssAnon", 0))
            step = steps[-1] if steps else "start"
            peaks_by_step[step] = max(peaks_by_step.get(step, 0.0), round(rss / (1 << 30), 2))
            if rss > limit_gb * (1 << 30):
                process.kill()
                killed = True
            time.sleep(0.2)
        process.wait()
        reader.join(5)
        seconds = time.perf_counter() - started
        maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        return {
            "gguf": gguf,
            "variants": variants or "(default)",
            "source_tree": str(source),
            "returncode": process.returncode,
            "stopped_at_limit_gb": limit_gb if killed else None,
            "peak_rss_gb": round(maxrss / (1 << 30), 2),
            "sampled_peak_rss_gb": round(peak / (1 << 30), 2),
            "step_at_sampled_peak": peak_step,
            "file_pages_at_sampled_peak_gb": round(peak_parts.get("RssFile", 0) / (1 << 30), 2),
            "sampled_peak_anon_gb": round(peak_anon / (1 << 30), 2),
            "sampled_peak_rss_gb_by_step": peaks_by_step,
            "steps": timeline,
            "seconds": round(seconds),
            "load_average": os.getloadavg(),
            "tail": "".join(output[-5:]) if process.returncode else "",
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write")
    write.add_argument("shape", choices=sorted(SHAPES))
    write.add_argument("path", type=Path)
    run = commands.add_parser("measure")
    run.add_argument("gguf", help="a GGUF file, or 'default' for the default model")
    run.add_argument("--variants")
    run.add_argument("--limit-gb", type=float, default=8.0)
    run.add_argument("--source", type=Path, default=ROOT, help="checkout of the pipeline")
    args = parser.parse_args()
    if args.command == "write":
        write_wide_gguf(args.path, SHAPES[args.shape])
        print(f"{args.path}: {args.path.stat().st_size / 1e9:.2f} GB")
        return 0
    print(json.dumps(measure(args.gguf, args.variants, args.limit_gb, args.source.resolve())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
