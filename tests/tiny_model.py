"""Tiny random Llama models written as real GGUF files, for tests that need a model fast.

They go through exactly the path the default model takes (GGUF -> Keras -> tf2onnx ->
fused ONNX variants), just with two layers and narrow widths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q


def _rope_permute(weight: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's converter layout for Q/K rows (what real GGUF files contain)."""
    rows, cols = weight.shape
    return weight.reshape(heads, 2, rows // heads // 2, cols).swapaxes(1, 2).reshape(rows, cols)


def write_tiny_gguf(
    path: Path,
    *,
    layers: int = 2,
    hidden: int = 64,
    heads: int = 4,
    kv_heads: int = 2,
    intermediate: int = 128,
    context: int = 256,
    linear_type: Q = Q.Q4_1,
    embedding_type: Q = Q.Q8_0,
    untied: bool = False,
    seed: int = 0,
    vocab: int | None = None,
    type_of: Callable[[str], Q | None] | None = None,
) -> Path:
    """``type_of(tensor name)`` picks a tensor's type where it returns one (mixed files)."""
    from tests.kquant_blocks import quantize_any
    from tests.tiny_vocab import add_tiny_tokenizer

    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("Tiny Llama (test)")
    writer.add_block_count(layers)
    writer.add_context_length(context)
    writer.add_embedding_length(hidden)
    writer.add_feed_forward_length(intermediate)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(hidden // heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    vocab_size = add_tiny_tokenizer(writer) if vocab is None else vocab

    def tensor(name: str, rows: int, cols: int, qtype: Q, scale: float = 0.08) -> None:
        values = (rng.standard_normal((rows, cols)) * scale).astype(np.float32)
        if name.endswith("attn_q.weight"):
            values = _rope_permute(values, heads)
        elif name.endswith("attn_k.weight"):
            values = _rope_permute(values, kv_heads)
        qtype = (type_of(name) if type_of else None) or qtype
        if qtype in (Q.F32, Q.F16):
            data = values.astype(np.float16 if qtype == Q.F16 else np.float32)
            writer.add_tensor(name, data)
        else:
            writer.add_tensor(name, quantize_any(values, qtype), raw_dtype=qtype)

    def norm(name: str) -> None:
        writer.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(hidden)).astype(np.float32))

    head_dim = hidden // heads
    tensor("token_embd.weight", vocab_size, hidden, embedding_type, scale=0.5)
    for i in range(layers):
        norm(f"blk.{i}.attn_norm.weight")
        tensor(f"blk.{i}.attn_q.weight", hidden, hidden, linear_type)
        tensor(f"blk.{i}.attn_k.weight", kv_heads * head_dim, hidden, linear_type)
        tensor(f"blk.{i}.attn_v.weight", kv_heads * head_dim, hidden, linear_type)
        tensor(f"blk.{i}.attn_output.weight", hidden, hidden, linear_type)
        norm(f"blk.{i}.ffn_norm.weight")
        tensor(f"blk.{i}.ffn_gate.weight", intermediate, hidden, linear_type)
        tensor(f"blk.{i}.ffn_up.weight", intermediate, hidden, linear_type)
        tensor(f"blk.{i}.ffn_down.weight", hidden, intermediate, linear_type)
    norm("output_norm.weight")
    if untied:
        tensor("output.weight", vocab_size, hidden, linear_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
