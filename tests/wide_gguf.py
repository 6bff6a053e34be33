"""Random-weight Llama GGUFs of a real model's shape, for the build's memory measurements.

Linear weights Q4_0, the embedding (tied, as in Llama 3.2 1B/3B) Q8_0, and the tiny test
vocabulary padded with plain tokens to the real vocabulary size: the build's memory depends
on the shapes, not on the values, and the file is a quarter of the float size."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf.quants import quantize

from tests import tiny_vocab


@dataclass(frozen=True)
class WideShape:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int

    def parameters(self) -> int:
        head_dim = self.hidden // self.heads
        attention = 2 * self.hidden * head_dim * (self.heads + self.kv_heads)
        return self.layers * (attention + 3 * self.hidden * self.intermediate) + (
            self.vocab * self.hidden
        )


def write_wide_gguf(path: Path, shape: WideShape, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(f"Synthetic llama {shape.hidden}x{shape.layers} (test)")
    writer.add_block_count(shape.layers)
    writer.add_context_length(4096)
    writer.add_embedding_length(shape.hidden)
    writer.add_feed_forward_length(shape.intermediate)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.kv_heads)
    writer.add_rope_dimension_count(shape.hidden // shape.heads)
    writer.add_rope_freq_base(500000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    tokens = tiny_vocab.tiny_tokens()
    control = len(tiny_vocab.CONTROL_TOKENS)
    types = [gguf.TokenType.CONTROL] * control + [gguf.TokenType.NORMAL] * (len(tokens) - control)
    padding = shape.vocab - len(tokens)
    tokens += [f"<extra_{i}>" for i in range(padding)]
    types += [gguf.TokenType.NORMAL] * padding
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(list(tiny_vocab.MERGES))
    writer.add_bos_token_id(tiny_vocab.IM_START_ID)
    writer.add_eos_token_id(tiny_vocab.IM_END_ID)
    writer.add_chat_template(tiny_vocab.CHAT_TEMPLATE)

    def matrix(name: str, rows: int, cols: int, scale: float, qtype: Q = Q.Q4_0) -> None:
        values = rng.standard_normal((rows, cols), np.float32) * np.float32(scale)
        writer.add_tensor(name, quantize(values, qtype), raw_dtype=qtype)

    def norm(name: str) -> None:
        values = (1.0 + 0.1 * rng.standard_normal(shape.hidden)).astype(np.float32)
        writer.add_tensor(name, values)

    kv_rows = shape.kv_heads * (shape.hidden // shape.heads)
    wide = shape.hidden**-0.5
    matrix("token_embd.weight", shape.vocab, shape.hidden, 1.0, Q.Q8_0)
    for i in range(shape.layers):
        norm(f"blk.{i}.attn_norm.weight")
        matrix(f"blk.{i}.attn_q.weight", shape.hidden, shape.hidden, 2 * wide)
        matrix(f"blk.{i}.attn_k.weight", kv_rows, shape.hidden, 2 * wide)
        matrix(f"blk.{i}.attn_v.weight", kv_rows, shape.hidden, wide)
        matrix(f"blk.{i}.attn_output.weight", shape.hidden, shape.hidden, wide)
        norm(f"blk.{i}.ffn_norm.weight")
        matrix(f"blk.{i}.ffn_gate.weight", shape.intermediate, shape.hidden, wide)
        matrix(f"blk.{i}.ffn_up.weight", shape.intermediate, shape.hidden, wide)
        down = shape.intermediate**-0.5
        matrix(f"blk.{i}.ffn_down.weight", shape.hidden, shape.intermediate, down)
    norm("output_norm.weight")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
