"""Where a decode step's time goes, by onnxruntime op type (not a test).

    .venv/bin/python benchmarks/profile_decode.py [--model DIR] [--context 300] [--steps 32]
        [--tokens 1]

Runs the model with onnxruntime's profiler on: prefills a prompt of --context tokens, then
runs --steps steps of --tokens tokens each (1: decoding; ~14 after a 1,305-token context:
the warm first token after one more typed sentence), and sums kernel time per op type over
those steps only (the last --steps runs), next to the wall time per step seen from Python."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the built default model)")
    parser.add_argument("--variant")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--context", type=int, default=300)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=1, help="tokens per step")
    parser.add_argument(
        "--growing-kv",
        action="store_true",
        help="use the growing KV layout instead of the in-place buffers",
    )
    args = parser.parse_args()

    import numpy as np

    from inference.model_folder import ModelFolder, find_default_model
    from inference.runtime.model_session import ModelSession
    from inference.runtime.providers import SessionSettings

    folder = ModelFolder.open(args.model) if args.model else find_default_model()
    if folder is None:
        raise SystemExit("no built model: run `.venv/bin/draftsmith-model build` first")
    prefix = str(Path(tempfile.mkdtemp()) / "decode")
    settings = SessionSettings(device="cpu", threads=args.threads, profile_prefix=prefix)
    capacity = None if args.growing_kv else args.context + args.steps * args.tokens + 8
    session = ModelSession.load(folder, settings, args.variant, verify=False, kv_capacity=capacity)
    cache = session.new_cache()
    rng = np.random.default_rng(0)
    prompt = rng.integers(100, session.vocab_size - 100, args.context, dtype=np.int64)[None, :]
    session.forward(prompt, cache)
    step = np.zeros((1, args.tokens), dtype=np.int64)
    started = time.perf_counter()
    for i in range(args.steps):
        step[0, :] = 100 + i + np.arange(args.tokens)
        session.forward(step, cache)
    wall = (time.perf_counter() - started) / args.steps
    profile = Path(session.session.end_profiling())
    events = json.loads(profile.read_text())
    runs = [e for e in events if e.get("name") == "model_run"]
    first_decode = runs[-args.steps]["ts"] if len(runs) >= args.steps else 0
    by_op: dict[str, float] = defaultdict(float)
    nodes: dict[str, int] = defaultdict(int)
    for event in events:
        if event.get("cat") != "Node" or event.get("ts", 0) < first_decode:
            continue
        if not event.get("name", "").endswith("_kernel_time"):
            continue
        op = event.get("args", {}).get("op_name", "?")
        by_op[op] += event.get("dur", 0)
        nodes[op] += 1
    total = sum(by_op.values())
    print(
        f"model: {folder.path} ({session.variant}), {args.threads} threads, "
        f"context {args.context}, {args.tokens} token(s) per step, "
        f"KV {'growing' if args.growing_kv else 'in place'}"
    )
    print(f"wall per step (Python): {wall * 1000:.2f} ms  = {args.tokens / wall:.1f} tokens/s")
    print(
        f"kernel time per step: {total / args.steps / 1000:.2f} ms "
        f"({len([e for e in events if e.get('cat') == 'Node']) // max(len(runs), 1)} "
        "node events per run)"
    )
    print("| op type | ms per step | share | nodes per step |")
    print("|---|---|---|---|")
    for op, dur in sorted(by_op.items(), key=lambda item: -item[1]):
        print(
            f"| {op} | {dur / args.steps / 1000:.3f} | {dur / total:.1%} | "
            f"{nodes[op] // args.steps} |"
        )
    profile.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
