"""Learn my style: the adapted model against its base (not a test).

    .venv/bin/python benchmarks/learn_style.py --adapted DIR [--adapter NPZ] [--steps 48]
        [--context 200] [--rounds 3] [--parity]

Prints: file sizes; decode speed of base and adapted 4-bit models through the runtime's own
session (alternating rounds in one process, so the shared machine's load hits both alike);
what merging would keep of the adapter (``W + A·B`` re-quantized to 4-bit blocks, compared
with the base's own blocks); and with ``--parity`` (needs TensorFlow and ~3 GB) the float
graph with side branches against the TensorFlow adapted model's logits."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def decode_speed(session, steps: int, context: int) -> float:
    import numpy as np

    cache = session.new_cache()
    rng = np.random.default_rng(0)
    prompt = rng.integers(100, session.vocab_size - 100, context, dtype=np.int64)[None, :]
    session.forward(prompt, cache)
    step = np.zeros((1, 1), dtype=np.int64)
    started = time.perf_counter()
    for i in range(steps):
        step[0, 0] = 100 + i
        session.forward(step, cache)
    return steps / (time.perf_counter() - started)


def merged_delta_kept(adapted_file: Path, gguf: Path, layers: int = 3) -> dict[str, float]:
    """Re-quantize ``W + delta`` (Q4_1-style blocks, as the export quantizes float weights)
    and measure how much of the adapter's delta survives: 1 - |Wq - W - delta| / |delta|."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    from inference.export.gguf_source import GGUFSource
    from inference.export.onnx_variants import quantize_4bit
    from inference.export.weights import GGUFWeights

    inits = {i.name: i for i in onnx.load(str(adapted_file)).graph.initializer}
    weights = GGUFWeights(GGUFSource(gguf))
    kept = {}
    for layer in range(layers):
        for packed in ("attention.qkv_proj", "mlp.down_proj"):
            name = f"layer_{layer}.{packed}"
            a = numpy_helper.to_array(inits[f"{name}.lora_a"])
            b = numpy_helper.to_array(inits[f"{name}.lora_b"])
            delta = (a @ b).T  # [out, in], like the GGUF matrix
            base = weights.matrix(name).to_float()
            q, scale, offset = quantize_4bit(base + delta)
            rows, cols = base.shape
            merged = (
                q.reshape(rows, cols // 32, 32) * scale[..., None] + offset[..., None]
            ).reshape(rows, cols)
            error = np.linalg.norm(merged - base - delta) / np.linalg.norm(delta)
            kept[name] = round(float(1 - error), 3)
    return kept


def parity(base_dir: Path, adapter_npz: Path, gguf: Path, tokens: int = 32) -> float:
    import numpy as np
    import tensorflow as tf
    from tokenizers import Tokenizer

    from inference.export.checks import SAMPLE_TEXT, OnnxDecoder
    from inference.export.gguf_source import GGUFSource
    from inference.export.learn.adapted_export import write_adapted_variant
    from inference.export.learn.adapters import (
        AdapterConfig,
        Adapters,
        load_frozen_base,
        sequence_logits,
    )
    from inference.model_folder import ModelFolder

    base = ModelFolder.open(base_dir)
    stored = np.load(adapter_npz)
    arrays = {k[:-2]: (stored[k], stored[k[:-1] + "b"]) for k in stored.files if k.endswith(".a")}
    source = GGUFSource(gguf)
    model = load_frozen_base(source)
    adapters = Adapters.create(source.architecture, AdapterConfig())
    for name, (a, b) in adapters.pairs.items():
        a.assign(arrays[name][0])
        b.assign(arrays[name][1] / adapters.config.scale)
    ids = Tokenizer.from_file(str(base.tokenizer_path)).encode(SAMPLE_TEXT).ids[:tokens]
    reference = sequence_logits(model, adapters, tf.constant([ids]))[0].numpy()
    del model
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "adapted.fp32.onnx"
        write_adapted_variant(base.variant_path("fp32"), arrays, base.architecture, target)
        rows = OnnxDecoder(target, base.architecture).logits_at_every_position(ids)
    return float(np.abs(rows - reference).max())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapted", type=Path, required=True, help="adapted model folder")
    parser.add_argument("--adapter", type=Path, help="adapter.npz of the run (for --parity)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=48)
    parser.add_argument("--context", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parity", action="store_true")
    args = parser.parse_args()

    from inference.export.learn.style_learning import find_gguf
    from inference.model_folder import ModelFolder, find_models
    from inference.runtime.model_session import ModelSession
    from inference.runtime.providers import SessionSettings

    adapted = ModelFolder.open(args.adapted)
    info = adapted.manifest["adapter"]
    base = next(m for m in find_models() if m.path.name == info["base"]["folder"])
    gguf = find_gguf(base, None)
    figures: dict[str, object] = {
        "held_out": info["held_out"],
        "documents": info["documents"],
        "base_q4_mb": round(base.variant_bytes() / 1e6, 1),
        "adapted_q4_mb": round(adapted.variant_bytes() / 1e6, 1),
    }
    settings = SessionSettings(device="cpu", threads=args.threads)
    sessions = {
        "base": ModelSession.load(base, settings, verify=False),
        "adapted": ModelSession.load(adapted, settings, verify=False),
    }
    speeds: dict[str, list[float]] = {name: [] for name in sessions}
    for _ in range(args.rounds):
        for name, session in sessions.items():
            speeds[name].append(decode_speed(session, args.steps, args.context))
    figures["decode_tokens_per_second"] = {
        name: round(statistics.median(values), 1) for name, values in speeds.items()
    }
    figures["decode_adapted_over_base"] = round(
        statistics.median(speeds["adapted"]) / statistics.median(speeds["base"]), 3
    )
    del sessions
    figures["merged_4bit_keeps_of_delta"] = merged_delta_kept(adapted.variant_path(), gguf)
    if args.parity:
        if args.adapter is None:
            raise SystemExit("--parity needs --adapter (the run's adapter.npz)")
        figures["fp32_side_branches_vs_tensorflow_max_abs_diff"] = parity(
            base.path, args.adapter, gguf
        )
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
