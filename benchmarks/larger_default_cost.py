"""What a larger bundled model costs, measured without downloading one: a GGUF with the shape
of a larger Llama-architecture model (random weights, the default model's real tokenizer and
the default file's tensor types) is built by the real pipeline, then its size, build time, peak
build memory and decode speed are set beside the default model's (same machine, same threads,
alternating runs, so the ratio holds even on a busy machine).

    .venv/bin/python benchmarks/larger_default_cost.py [--shape smollm2-360m] [--runs 3]

Weights' values change neither size nor speed; shape and tensor types do. Prints a table."""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Published shapes (config.json of each model on its hub page).
SHAPES = {
    "smollm2-360m": dict(layers=32, hidden=960, heads=15, kv_heads=5, intermediate=2560),
    "smollm2-1.7b": dict(layers=24, hidden=2048, heads=32, kv_heads=32, intermediate=8192),
}


def write_shaped_gguf(path: Path, default_gguf: Path, shape: dict[str, int]) -> Path:
    import gguf

    reader = gguf.GGUFReader(str(default_gguf))
    rng = np.random.default_rng(0)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(f"Random weights, shape {path.stem}")
    hidden, heads = shape["hidden"], shape["heads"]
    writer.add_block_count(shape["layers"])
    writer.add_context_length(8192)
    writer.add_embedding_length(hidden)
    writer.add_feed_forward_length(shape["intermediate"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(shape["kv_heads"])
    writer.add_rope_dimension_count(hidden // heads)
    writer.add_rope_freq_base(100000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    for key, field in reader.fields.items():
        if key.startswith("tokenizer."):
            value = field.contents()
            if isinstance(value, bool):
                writer.add_bool(key, value)
            elif isinstance(value, int):
                writer.add_uint32(key, value)
            elif isinstance(value, str):
                writer.add_string(key, value)
            elif value and isinstance(value[0], str):
                writer.add_array(key, list(value))
            else:
                writer.add_key_value(
                    key, list(value), gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.INT32
                )
    vocab = len(reader.get_field("tokenizer.ggml.tokens").contents())
    types = {t.name: t.tensor_type for t in reader.tensors}

    def tensor(name: str, rows: int, cols: int, like: str) -> None:
        qtype = types[like]
        values = (rng.standard_normal((rows, cols)) * 0.05).astype(np.float32)
        writer.add_tensor(name, gguf.quants.quantize(values, qtype), raw_dtype=qtype)

    def norm(name: str) -> None:
        writer.add_tensor(name, np.ones(hidden, np.float32))

    kv = shape["kv_heads"] * (hidden // heads)
    inter = shape["intermediate"]
    tensor("token_embd.weight", vocab, hidden, "token_embd.weight")
    for i in range(shape["layers"]):
        norm(f"blk.{i}.attn_norm.weight")
        tensor(f"blk.{i}.attn_q.weight", hidden, hidden, "blk.0.attn_q.weight")
        tensor(f"blk.{i}.attn_k.weight", kv, hidden, "blk.0.attn_k.weight")
        tensor(f"blk.{i}.attn_v.weight", kv, hidden, "blk.0.attn_v.weight")
        tensor(f"blk.{i}.attn_output.weight", hidden, hidden, "blk.0.attn_output.weight")
        norm(f"blk.{i}.ffn_norm.weight")
        tensor(f"blk.{i}.ffn_gate.weight", inter, hidden, "blk.0.ffn_gate.weight")
        tensor(f"blk.{i}.ffn_up.weight", inter, hidden, "blk.0.ffn_up.weight")
        tensor(f"blk.{i}.ffn_down.weight", hidden, inter, "blk.0.ffn_down.weight")
    norm("output_norm.weight")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def build(gguf_path: Path, cache: Path) -> tuple[Path, float, float]:
    """Build in its own process: (model folder, seconds, peak RSS in GB)."""
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run(
        [sys.executable, "-m", "inference.export.cli", "build", str(gguf_path),
         "--cache-dir", str(cache), "--variants", "q4"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(done.stderr[-2000:])
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1e6
    from inference.model_registry import built_path_from_output

    folder = built_path_from_output(done.stdout)
    assert folder is not None, done.stdout
    return folder, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", choices=sorted(SHAPES), default="smollm2-360m")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    from inference.model_folder import ModelFolder, find_default_model
    from inference.model_registry import measure_speed

    default = find_default_model()
    if default is None:
        sys.exit("Build the default model first: .venv/bin/draftsmith-model build")
    source = default.manifest["source"]
    scratch = tempfile.mkdtemp(prefix="draftsmith-cost-")
    os.environ["DRAFTSMITH_MODEL_CACHE"] = scratch  # speed records stay out of the real cache
    default_gguf = default.path.parent / "sources" / source["file"]
    with tempfile.TemporaryDirectory() as tmp:
        gguf_path = write_shaped_gguf(Path(tmp) / f"{args.shape}.gguf", default_gguf,
                                      SHAPES[args.shape])  # fmt: skip
        folder, seconds, peak = build(gguf_path, Path(tmp) / "cache")
        larger = ModelFolder.open(folder)
        speeds: dict[str, list[float]] = {"default": [], args.shape: []}
        for _ in range(args.runs):
            for name, model in (("default", default), (args.shape, larger)):
                record = measure_speed(model.path, "cpu", args.threads, tokens=48)
                speeds[name].append(record.tokens_per_second)
        q4 = {n: m.variant_path("q4").stat().st_size / 2**20 for n, m in
              (("default", default), (args.shape, larger))}  # fmt: skip
        print(f"| model | q4 file | decode tokens/s (median of {args.runs}, {record.device}) |")
        print("|---|---|---|")
        for name in speeds:
            print(f"| {name} | {q4[name]:.0f} MiB | {statistics.median(speeds[name]):.1f} |")
        ratio = statistics.median(speeds["default"]) / statistics.median(speeds[args.shape])
        print(f"size x{q4[args.shape] / q4['default']:.2f}, decode {ratio:.2f}x slower")
        print(f"build of {args.shape}: {seconds:.0f} s, peak RSS {peak:.1f} GB (its own process)")


if __name__ == "__main__":
    main()
