"""What shipping a larger default model costs, measured (not a test).

    .venv/bin/python benchmarks/larger_default.py [--work DIR] [--vocab ggml-vocab-qwen2.gguf]
        [--threads 2] [--rounds 2] [--repeats 2] [--max-rss-gb 8] [--skip-bench] [--runs ...]

No 0.5-1.5B model can be downloaded on the build machine, so this writes one: random weights
in the exact shape of Qwen2.5-0.5B-Instruct (``qwen2``, 24 layers, hidden 896, 14 query and 2
key/value heads of 64, FFN 4864, 151936-token vocabulary, tied embeddings, Q/K/V biases) as an
F16 GGUF, with a real tokenizer: ``--vocab`` names a GGUF holding Qwen 2's (llama.cpp's source
tree has one, ``models/ggml-vocab-qwen2.gguf``); without it, the default model's vocabulary
padded to 151936 tokens as llama.cpp's converter pads Qwen's. Then:

1. llama.cpp's own quantizer (llama-cpp-python, ``$DRAFTSMITH_LLAMA_PYTHON``) makes the Q4_K_M
   file people download; the default model is dumped to F16 and re-quantized the same way;
2. ``draftsmith-model build FILE --variants q4`` builds each into WORK/cache (never the
   machine's model cache) in a subprocess: wall time, its own peak RSS (it is stopped past
   ``--max-rss-gb``), the size of the folder and of the folder gzip -6 compressed (what the
   ``.tar.gz`` download carries);
3. the generation benchmark's workers (``benchmarks/generation_vs_llamacpp.py``) run the
   bundled default model (SmolLM2-135M Q4_1), both Q4_K_M builds, and llama.cpp on both Q4_K_M
   files: same prompts, same thread count, interleaved rounds, each engine's best kept.

Speed and size do not depend on the weights' values, so random weights give honest figures
for both; quality is not measured. Steps whose output is already in WORK are not redone."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import generation_vs_llamacpp as generation  # noqa: E402

from tests.synthetic_gguf import (  # noqa: E402
    Shape,
    float_copy,
    pad_vocabulary,
    tokenizer_metadata,
    write_synthetic_gguf,
)

# Qwen2.5-0.5B-Instruct's config.json, as llama.cpp's converter writes it into a GGUF.
QWEN25_05B = Shape(
    arch="qwen2",
    layers=24,
    hidden=896,
    heads=14,
    kv_heads=2,
    intermediate=4864,
    context=32768,
    rope_theta=1_000_000.0,
    qkv_bias=True,
    float16=True,
    # Decided, as the build's checks need (see Shape); any values run at the same speed.
    embedding_scale=0.05,
    residual_scale=0.003,
)
QWEN25_VOCAB = 151936
QWEN_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LARGE = "Qwen2.5-0.5B-shape"
SMALL = "SmolLM2-135M-Instruct"
# llama.cpp's quantizer needs longer than the parity tests' files allow on a busy 2-core box.
QUANTIZE_TIMEOUT_S = 1800


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- the files ---------------------------------------------------------------------------


def tokenizer_fields(vocab: Path | None, default_gguf: Path) -> dict[str, Any]:
    import gguf

    if vocab is not None:
        fields = tokenizer_metadata(gguf.GGUFReader(str(vocab)))
        if len(fields["tokenizer.ggml.tokens"]) != QWEN25_VOCAB:
            raise SystemExit(f"{vocab} holds {len(fields['tokenizer.ggml.tokens'])} tokens")
        return fields
    fields = pad_vocabulary(tokenizer_metadata(gguf.GGUFReader(str(default_gguf))), QWEN25_VOCAB)
    fields["tokenizer.ggml.pre"] = "qwen2"
    fields["tokenizer.chat_template"] = QWEN_TEMPLATE
    return fields


def quantized(source: Path, target: Path) -> Path:
    """``source`` (F16) made Q4_K_M by llama.cpp's quantizer (its own per-tensor mix)."""
    from tests import llamacpp_reference as llamacpp

    python, why = llamacpp.llama_python()
    if python is None:
        raise SystemExit(why)
    partial = target.with_suffix(".part")
    llamacpp.quantize(source, partial, "Q4_K_M", pure=False, timeout=QUANTIZE_TIMEOUT_S)
    partial.replace(target)
    return target


def make_files(work: Path, vocab: Path | None, default_gguf: Path, shape: Shape) -> dict[str, Path]:
    large_f16 = work / f"{LARGE}.F16.gguf"
    large = work / f"{LARGE}.Q4_K_M.gguf"
    if not large.is_file():
        if not large_f16.is_file():
            log(f"writing {large_f16.name} ({shape.layers} layers, random weights)")
            partial = large_f16.with_suffix(".part")
            write_synthetic_gguf(partial, tokenizer_fields(vocab, default_gguf), shape)
            partial.replace(large_f16)
        log(f"llama.cpp: {large_f16.name} -> Q4_K_M")
        quantized(large_f16, large)
        large_f16.unlink()
    small = work / f"{SMALL}.Q4_K_M.gguf"
    if not small.is_file():
        log(f"llama.cpp: {default_gguf.name} -> F16 -> Q4_K_M")
        dump = float_copy(default_gguf, work / f"{SMALL}.F16.gguf")
        quantized(dump, small)
        dump.unlink()
    return {"small": small, "large": large}


def tensor_types(path: Path) -> dict[str, int]:
    import gguf

    counts: dict[str, int] = {}
    for tensor in gguf.GGUFReader(str(path)).tensors:
        counts[tensor.tensor_type.name] = counts.get(tensor.tensor_type.name, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


# -- the build ---------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def build(gguf_path: Path, cache: Path, max_rss_mb: float) -> dict[str, Any]:
    """``draftsmith-model build`` of ``gguf_path`` in its own process: wall time and that
    process's peak RSS (from ``wait4``); stopped, and reported so, past ``max_rss_mb``."""
    command = [
        sys.executable,
        "-m",
        "inference.export.cli",
        "build",
        str(gguf_path),
        "--cache-dir",
        str(cache),
        "--variants",
        "q4",
    ]
    log(f"building {gguf_path.name} (stopped past {max_rss_mb:.0f} MB RSS)")
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    stopped = threading.Event()
    watched = {"peak": 0.0}

    def watch() -> None:
        while process.poll() is None:
            current = rss_mb(process.pid)
            watched["peak"] = max(watched["peak"], current)
            if current > max_rss_mb:
                stopped.set()
                process.send_signal(signal.SIGKILL)
                return
            time.sleep(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert process.stdout is not None
    output = process.stdout.read()  # the build's progress lines and checks
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    watcher.join()
    result: dict[str, Any] = {
        "gguf": str(gguf_path),
        "seconds": round(seconds),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "returncode": process.returncode,
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "output": output.strip().splitlines()[-20:],
    }
    if stopped.is_set():
        result["stopped"] = f"RSS passed {max_rss_mb:.0f} MB"
    built = [line.split()[1] for line in output.splitlines() if line.startswith("Built ")]
    if process.returncode == 0 and built:
        result["folder"] = built[0]
    log(f"build: {json.dumps({k: v for k, v in result.items() if k != 'output'})}")
    return result


def gzip_size(folder: Path) -> int:
    """Bytes of the folder's files gzip -6 compressed (as a ``.tar.gz`` stores them)."""
    total = 0
    for path in sorted(folder.iterdir()):
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 22):
                total += len(compressor.compress(chunk))
        total += len(compressor.flush())
    return total


def sizes(gguf_path: Path, folder: Path) -> dict[str, Any]:
    files = {p.name: p.stat().st_size for p in sorted(folder.iterdir())}
    return {
        "gguf_mb": round(gguf_path.stat().st_size / 1e6, 1),
        "gguf_types": tensor_types(gguf_path),
        "folder_mb": round(sum(files.values()) / 1e6, 1),
        "folder_gzip_mb": round(gzip_size(folder) / 1e6, 1),
        "files_mb": {name: round(size / 1e6, 1) for name, size in files.items()},
    }


def built(name: str, gguf_path: Path, work: Path, max_rss_mb: float) -> dict[str, Any]:
    """The build's figures, from WORK/<name>.build.json when it was already made."""
    record = work / f"{name}.build.json"
    if record.is_file():
        return json.loads(record.read_text(encoding="utf-8"))
    result = build(gguf_path, work / "cache", max_rss_mb)
    if "folder" in result:
        result.update(sizes(gguf_path, Path(result["folder"])))
        record.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


# -- speed -------------------------------------------------------------------------------

# name: (column, model, engine); the model's folder is paths[model], its GGUF paths[model_gguf]
RUNS = {
    "bundled": ("default 135M Q4_1 (bundled)", "bundled", "ours"),
    "small": ("135M Q4_K_M", "small", "ours"),
    "small-llama": ("135M Q4_K_M llama.cpp", "small", "llama"),
    "large": ("0.5B-shape Q4_K_M", "large", "ours"),
    "large-llama": ("0.5B-shape Q4_K_M llama.cpp", "large", "llama"),
}
ROWS = (
    ("prefill tok/s (~300 tokens)", "prefill_short_tps"),
    ("prefill tok/s (~1300 tokens)", "prefill_long_tps"),
    ("decode tok/s (128 tokens, fresh cache)", "decode_tps"),
    ("decode tok/s (128 tokens, 1000-token cache)", "decode_long_tps"),
    ("time to first token, continue, cold (s)", "ttft_cold_s"),
    ("time to first token, continue, warm (s)", "ttft_warm_s"),
    ("peak RSS of the process (MB)", "peak_rss_mb"),
    ("load time (s)", "load_seconds"),
)


def speed(
    paths: dict[str, Path], args: argparse.Namespace, llama_python: Path
) -> dict[str, dict[str, Any]]:
    names = [name.strip() for name in args.runs.split(",") if name.strip()]
    unknown = set(names) - set(RUNS)
    if unknown:
        raise SystemExit(f"unknown --runs {sorted(unknown)}; choose from {list(RUNS)}")
    specs = {
        model: generation.make_spec(
            paths[model], paths[f"{model}_gguf"], args.threads, "cpu", "q4", args.repeats
        )
        for model in {RUNS[name][1] for name in names}
    }
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    best: dict[str, dict[str, Any]] = {}
    record = args.work / f"speed-{time.strftime('%Y%m%d-%H%M%S')}.json"
    for round_number in range(1, max(1, args.rounds) + 1):
        for name in names:
            column, model, engine = RUNS[name]
            log(f"round {round_number}: {column} ...")
            python = llama_python if engine == "llama" else Path(sys.executable)
            result = generation.run_worker(python, engine, specs[model])
            result["load_average_after"] = round(os.getloadavg()[0], 2)
            runs[name].append(result)
            # after every run: one cut short still leaves its figures
            best = {n: generation.best_of(results) for n, results in runs.items() if results}
            record.write_text(json.dumps(runs, indent=2), "utf-8")
            log(f"{column}: load average {result['load_average_after']}\n{speed_table(best)}")
    return best


def speed_table(best: dict[str, dict[str, Any]]) -> str:
    names = list(RUNS)
    lines = [
        "| metric (same 2 threads) | "
        + " | ".join(RUNS[name][0] for name in names)
        + " | 0.5B: Draftsmith vs llama.cpp | 0.5B cost vs bundled (x slower, x more) |",
        "|---" * (len(names) + 3) + "|",
    ]
    for label, key in ROWS:
        values = {name: best.get(name, {}).get(key) for name in names}
        higher_better = key.endswith("tps")

        def ratio(better: float | None, worse: float | None) -> str:
            return f"{better / worse:.2f}x" if better and worse else ""

        large, large_llama, bundled = values["large"], values["large-llama"], values["bundled"]
        # > 1: Draftsmith better than llama.cpp; the larger model's cost as a factor
        versus = ratio(large, large_llama) if higher_better else ratio(large_llama, large)
        cost = ratio(bundled, large) if higher_better else ratio(large, bundled)
        lines.append(
            f"| {label} | "
            + " | ".join(generation.fmt(values[name]) for name in names)
            + f" | {versus} | {cost} |"
        )
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/draftsmith-larger-default"))
    parser.add_argument("--vocab", type=Path, help="a GGUF with Qwen 2's 151936-token tokenizer")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--max-rss-gb", type=float, default=8.0)
    parser.add_argument(
        "--layers", type=int, help="fewer layers than Qwen2.5-0.5B's 24 (a quick trial run)"
    )
    parser.add_argument("--default-model", type=Path, help="the bundled default model folder")
    parser.add_argument("--skip-bench", action="store_true", help="files and builds only")
    parser.add_argument(
        "--runs",
        default=",".join(RUNS),
        help=f"which engine/model runs, in this order (default: {','.join(RUNS)})",
    )
    args = parser.parse_args()

    from inference.export.build import fetch_default_gguf
    from inference.model_cache import model_cache_root
    from inference.model_folder import ModelFolder, find_default_model
    from tests import llamacpp_reference as llamacpp

    args.work.mkdir(parents=True, exist_ok=True)
    shape = replace(QWEN25_05B, layers=args.layers) if args.layers else QWEN25_05B
    default_gguf = fetch_default_gguf(model_cache_root() / "sources")
    log(f"load average {os.getloadavg()} on {os.cpu_count()} CPUs; work folder {args.work}")
    files = make_files(args.work, args.vocab, default_gguf, shape)
    builds = {
        name: built(name, files[name], args.work, args.max_rss_gb * 1024)
        for name in ("large", "small")  # the larger first: it is the one that may not fit
    }
    summary: dict[str, Any] = {"shape": shape.__dict__, "builds": builds}
    for name, result in builds.items():
        print(f"\n{name}: {json.dumps(result, indent=2)}")
    failed = [name for name, result in builds.items() if "folder" not in result]
    if failed or args.skip_bench:
        return 1 if failed else 0

    bundled = ModelFolder.open(args.default_model) if args.default_model else find_default_model()
    if bundled is None:
        raise SystemExit("the default model is not built (`draftsmith-model build`)")
    python, why = llamacpp.llama_python()
    if python is None:
        raise SystemExit(why)
    paths = {
        "bundled": bundled.path,
        "bundled_gguf": default_gguf,
        "small": Path(builds["small"]["folder"]),
        "small_gguf": files["small"],
        "large": Path(builds["large"]["folder"]),
        "large_gguf": files["large"],
    }
    best = speed(paths, args, python)
    print(
        f"\nload average after the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs "
        f"(per worker: {[r.get('load_average_after') for r in best.values()]})"
    )
    print(speed_table(best))
    summary["speed"] = best
    out = args.work / f"larger_default-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    print(f"\nraw results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
