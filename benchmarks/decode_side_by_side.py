"""Decode speed only: draftsmith vs llama.cpp, interleaved request by request (not a test).

    .venv/bin/python benchmarks/decode_side_by_side.py [--rounds 3] [--threads 2]
        [--spin 50 --spin unbounded --spin off] [--no-llamacpp]

The decode rows of ``generation_vs_llamacpp.py``, without its prefill, first-token and memory
runs, so the two decode figures can be measured often enough on a busy machine: one
persistent worker per engine (and per ``--spin`` setting of draftsmith's onnxruntime threads:
microseconds an idle worker spins, ``unbounded`` for onnxruntime's own spinning, ``off``),
each asked in turn, in alternating order, for 128 greedy tokens after a 16-token prompt
(fresh cache) and after a 1,000-token prompt of the writing passages (``--one-per-run``
adds draftsmith without drafted tokens). Prints every round with the load average, then
best and median tokens/s with their ratios to llama.cpp, and whether draftsmith's greedy
tokens are the same under every setting."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from generation_vs_llamacpp import (  # noqa: E402
    CONTEXT_TOKENS,
    DECODE_TOKENS,
    FRESH_PROMPT_TOKENS,
    LLAMA_ENV,
    LONG_CACHE_TOKENS,
    decode_prompt_ids,
    find_gguf,
    load_llama,
)


def _llama_decoder(spec: dict):
    llm = load_llama(spec)
    llm.eval([1, 2, 3])  # warm-up: first-call allocations
    llm.reset()

    def decode(prompt: list[int]) -> tuple[float, list[int]]:
        llm.reset()
        llm.eval(prompt)
        first, tokens = 0.0, []
        for token in llm.generate([], temp=0.0, top_k=1, reset=False):
            tokens.append(token)
            if len(tokens) == 1:
                first = time.perf_counter()
            if len(tokens) == DECODE_TOKENS:
                break
        return (DECODE_TOKENS - 1) / (time.perf_counter() - first), tokens

    return decode


def _our_decoder(spec: dict):
    sys.path.insert(0, str(ROOT))
    from inference.runtime import LocalModel, RuntimeSettings, SamplingSettings

    spin = spec["spin"]
    model = LocalModel.load(
        spec["model"],
        RuntimeSettings(
            device="cpu",
            threads=spec["threads"],
            context_tokens=CONTEXT_TOKENS,
            allow_spinning=spin != "off",
            spin_duration_us=None if spin in ("off", "unbounded") else int(spin),
            lookup_drafts=spec.get("drafts", True),
        ),
    )
    generator = model.generator
    greedy = SamplingSettings(temperature=0, repetition_penalty=1.0)
    generator.generate([1, 2, 3], max_new_tokens=2, sampling=greedy)  # warm-up

    def decode(prompt: list[int]) -> tuple[float, list[int]]:
        generator.clear_cache()
        output = generator.generate(
            prompt, max_new_tokens=DECODE_TOKENS, sampling=greedy, min_new_tokens=DECODE_TOKENS
        )
        return output.stats.decode_tokens_per_second, output.token_ids

    return decode


def worker(spec: dict) -> None:
    decode = _llama_decoder(spec) if spec["engine"] == "llama" else _our_decoder(spec)
    print("ready", flush=True)
    for line in sys.stdin:
        speed, tokens = decode(json.loads(line))
        print(json.dumps({"tps": speed, "tokens": tokens}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", help="model folder (default: the built default model)")
    parser.add_argument(
        "--spin",
        action="append",
        help="draftsmith's idle-thread spinning: microseconds, 'unbounded' or 'off' "
        "(repeat to compare; default: the runtime's default, 50)",
    )
    parser.add_argument("--no-llamacpp", action="store_true")
    parser.add_argument(
        "--one-per-run",
        action="store_true",
        help="also run draftsmith without drafted tokens (one token per model run)",
    )
    parser.add_argument("--llama-python", default=str(LLAMA_ENV / "bin" / "python"))
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return 0

    sys.path.insert(0, str(ROOT))
    from inference.model_folder import ModelFolder, find_default_model
    from inference.runtime.text_codec import TextCodec

    folder = ModelFolder.open(args.model) if args.model else find_default_model()
    if folder is None:
        raise SystemExit("no built model: run `.venv/bin/draftsmith-model build` first")
    codec = TextCodec.from_file(folder.tokenizer_path)
    ids = decode_prompt_ids(codec)
    prompts = {
        "fresh cache": ids[:FRESH_PROMPT_TOKENS],
        f"{LONG_CACHE_TOKENS}-token cache": ids,
    }
    base = {"threads": args.threads, "model": str(folder.path), "gguf": str(find_gguf(folder.path))}
    engines: dict[str, dict] = {}
    if not args.no_llamacpp:
        engines["llama.cpp"] = {**base, "engine": "llama"}
    for spin in args.spin or ["50"]:
        engines[f"draftsmith spin={spin}"] = {**base, "engine": "ours", "spin": spin}
        if args.one_per_run:
            engines[f"draftsmith spin={spin}, one token per run"] = {
                **base,
                "engine": "ours",
                "spin": spin,
                "drafts": False,
            }
    workers = {}
    for name, spec in engines.items():
        python = args.llama_python if spec["engine"] == "llama" else sys.executable
        process = subprocess.Popen(
            [python, __file__, "--worker", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": str(args.threads)},
        )
        assert process.stdin is not None and process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise SystemExit(f"{name} worker failed to start")
        workers[name] = process
    speeds: dict[tuple[str, str], list[float]] = {(n, p): [] for n in engines for p in prompts}
    tokens: dict[tuple[str, str], list[int]] = {}
    for round_number in range(args.rounds):
        order = list(engines) if round_number % 2 == 0 else list(reversed(engines))
        for label, prompt in prompts.items():
            for name in order:
                process = workers[name]
                assert process.stdin is not None and process.stdout is not None
                process.stdin.write(json.dumps(prompt) + "\n")
                process.stdin.flush()
                reply = json.loads(process.stdout.readline())
                speeds[(name, label)].append(reply["tps"])
                tokens[(name, label)] = reply["tokens"]
        figures = ", ".join(f"{n} / {p}: {v[-1]:.1f}" for (n, p), v in speeds.items())
        print(f"round {round_number + 1}, load {os.getloadavg()[0]:.1f}: {figures}", flush=True)
    for process in workers.values():
        assert process.stdin is not None
        process.stdin.close()
        process.wait()
    print(f"\n{args.threads} threads, {DECODE_TOKENS} greedy tokens, tokens/s (best / median)")
    print("| engine | decode | best | median | ratio best | ratio median |")
    print("|---|---|---|---|---|---|")
    for label in prompts:
        reference = speeds.get(("llama.cpp", label))
        for name in engines:
            values = speeds[(name, label)]
            best, median = max(values), statistics.median(values)
            ratios = "| | |"
            if reference:
                ratios = (
                    f"| {best / max(reference):.2f}x "
                    f"| {median / statistics.median(reference):.2f}x |"
                )
            print(f"| {name} | {label} | {best:.1f} | {median:.1f} {ratios}")
    ours = [n for n in engines if engines[n]["engine"] == "ours"]
    for label in prompts:
        same = all(tokens[(n, label)] == tokens[(ours[0], label)] for n in ours)
        print(f"{label}: draftsmith's greedy tokens identical under every setting: {same}")
        if "llama.cpp" in engines:
            for name in ours:
                pairs = zip(tokens[(name, label)], tokens[("llama.cpp", label)], strict=True)
                parted = next((i for i, (a, b) in enumerate(pairs) if a != b), None)
                print(f"{label}: {name} vs llama.cpp greedy tokens part at: {parted}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
