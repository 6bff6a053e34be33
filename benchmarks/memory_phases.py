"""Where a generating process's memory goes, phase by phase (not a test; Linux only).

    .venv/bin/python benchmarks/memory_phases.py [--model DIR ...] [--threads 2]

For each model folder, in a fresh process, as the app's model process uses it: RSS (anonymous
and file-backed) and its peak after the imports, after loading the model (tokenizer and
session), after a first "continue" on a ~1,300-token document and after three warm requests
(one more sentence each), then the largest resident mappings. Several ``--model`` folders run
one after the other (e.g. a folder of each pipeline version, to see what a format change did)."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def status() -> dict[str, float]:
    """VmRSS, VmHWM (peak), RssAnon and RssFile in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def largest_mappings(count: int) -> list[tuple[str, float]]:
    """The resident MB of each mapped file (anonymous memory and the heap by their names)."""
    resident: Counter[str] = Counter()
    name = "[anon]"
    with open("/proc/self/smaps", encoding="utf-8", errors="replace") as smaps:
        for line in smaps:
            fields = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                name = fields[5] if len(fields) > 5 else "[anon]"
            elif fields[0] == "Rss:":
                resident[name] += int(fields[1]) / 1024
    return [(n, round(mb, 1)) for n, mb in resident.most_common(count)]


def measure(model_dir: str, threads: int) -> dict:
    phases = {"start": status()}
    import generation_vs_llamacpp as bench

    from inference.runtime import GenerationRequest, LocalModel, RuntimeSettings, SamplingSettings

    phases["imports"] = status()
    model = LocalModel.load(
        model_dir,
        RuntimeSettings(device="cpu", threads=threads, context_tokens=bench.CONTEXT_TOKENS),
    )
    phases["loaded"] = status()
    greedy = SamplingSettings(temperature=0, repetition_penalty=1.0)
    document = bench.document(1000)

    def run(text: str) -> None:
        model.run(GenerationRequest("continue", before=text, sampling=greedy, max_new_tokens=16))

    run(document)
    phases["document"] = status()
    for typed in range(1, 4):
        run(document + "".join(bench.TYPED_SENTENCES[:typed]))
    phases["warm requests"] = status()
    return {"phases": phases, "largest": largest_mappings(12)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="model folder (default: the default)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.threads)))
        return 0
    if not Path("/proc/self/smaps").exists():
        print("This benchmark reads Linux's /proc.")
        return 1
    if not args.model:
        from inference.model_folder import find_default_model

        default = find_default_model()
        if default is None:
            print("No default model is built: run `make model` first.")
            return 1
        args.model = [str(default.path)]
    for model_dir in args.model:
        done = subprocess.run(
            [sys.executable, __file__, "--worker", model_dir, "--threads", str(args.threads)],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"\n{model_dir}")
        print("| phase | RSS MB | peak MB | anonymous | file-backed |")
        print("|---|---|---|---|---|")
        for phase, f in result["phases"].items():
            print(
                f"| {phase} | {f['VmRSS']:.1f} | {f['VmHWM']:.1f} | {f['RssAnon']:.1f} "
                f"| {f['RssFile']:.1f} |"
            )
        print("largest resident mappings (MB):")
        for name, mb in result["largest"]:
            print(f"  {mb:7.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
