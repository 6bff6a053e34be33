"""The build's float reference: the TensorFlow decoder, run one layer at a time.

The checks hold every ONNX variant against the Keras model (keras_llama.py) on the same
weights. That model whole, in float32, takes four bytes per parameter (12 GB for a 3B
model), so the reference runs the Keras model's own layers one at a time: a single
``DecoderLayer`` gets layer 0's weights and transforms the hidden states of every position at
once (causal mask, empty cache), then gets layer 1's, and so on. The embedding is read for
the sample's tokens only and the LM head a slice of the vocabulary at a time. At most one
layer's float weights and one slice of the head are in memory; the result is what the whole
model gives position by position (the checks compare the ONNX model's cached and uncached
paths separately)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from inference.export.gguf_source import FLOAT_TYPES, BlockWeight, GGUFSource
from inference.export.weights import GGUFWeights
from inference.model_folder import Architecture

HEAD_SLICE_BYTES = 64 << 20  # float32 rows of the LM head dequantized at once


class ReferenceWeights:
    """Float weights in the Keras model's layout, layer by layer.

    ``as_q4=False``: the GGUF's values (what the ``fp32`` variant holds). ``as_q4=True``:
    the values the ``q4`` variant holds, i.e. float tensors quantized by ``quantize_float``
    exactly as the variant builder does it (packed Q/K/V and gate/up, the embedding and LM
    head to Q8_0); tensors stored in blocks are the same either way."""

    def __init__(self, source: GGUFSource, as_q4: bool) -> None:
        self.weights = GGUFWeights(source)
        self.cfg = source.architecture
        self.as_q4 = as_q4

    def _quantized(self, weight: BlockWeight, table: bool) -> BlockWeight:
        if not self.as_q4:
            return weight
        from inference.export.onnx_variants import quantize_float

        return quantize_float(weight, table=table)

    def _matrix(self, name: str) -> np.ndarray:
        """A linear weight as the variant holds it, [out, in]."""
        return self._quantized(self.weights.matrix(name), table=False).to_float()

    def layer(self, index: int) -> dict[str, np.ndarray]:
        """Layer ``index``'s weights by Keras name (kernels [in, out])."""
        cfg, prefix = self.cfg, f"layer_{index}"
        values = {
            f"{prefix}.{part}.weight": self.weights.vector(f"{prefix}.{part}.weight")
            for part in ("input_norm", "post_attention_norm")
        }
        kv_rows = cfg.num_kv_heads * cfg.head_dim
        packed = {
            # The fused graph packs these: the q4 variant quantizes the packed matrix.
            "attention.qkv_proj": (
                ("attention.q_proj", "attention.k_proj", "attention.v_proj"),
                (cfg.num_heads * cfg.head_dim, kv_rows, kv_rows),
            ),
            "mlp.gate_up_proj": (
                ("mlp.gate_proj", "mlp.up_proj"),
                (cfg.intermediate_size, cfg.intermediate_size),
            ),
        }
        for name, (parts, rows) in packed.items():
            matrix = self._matrix(f"{prefix}.{name}")
            pieces = np.split(matrix, np.cumsum(rows)[:-1], axis=0)
            for part, piece in zip(parts, pieces, strict=True):
                values[f"{prefix}.{part}"] = np.ascontiguousarray(piece.T)
            del matrix, pieces
        for part in ("attention.o_proj", "mlp.down_proj"):
            values[f"{prefix}.{part}"] = np.ascontiguousarray(self._matrix(f"{prefix}.{part}").T)
        if cfg.attention_bias:
            for part in "qkv":
                name = f"{prefix}.attention.{part}_bias"
                values[name] = self.weights.vector(name)
        return values

    def final_norm(self) -> np.ndarray:
        return self.weights.vector("final_norm.weight")

    def embedding_rows(self, ids: list[int]) -> np.ndarray:
        rows = self.weights.table_rows("embedding", np.asarray(ids, np.int64))
        return self._quantized(rows, table=True).to_float()

    def head_rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of the LM head, [stop - start, hidden]."""
        rows = self.weights.table_rows("lm_head", slice(start, stop))
        return self._quantized(rows, table=True).to_float()


def q4_holds_other_values(source: GGUFSource) -> bool:
    """Whether the q4 variant quantizes some matrix itself (an F16/F32 tensor), so that its
    exact reference differs from the GGUF's own values."""
    return any(t.tensor_type in FLOAT_TYPES and len(t.shape) == 2 for t in source.reader.tensors)


def reference_logits(
    cfg: Architecture,
    ids: list[int],
    weights: ReferenceWeights,
    progress: Callable[[float], None] = lambda fraction: None,
) -> np.ndarray:
    """The Keras decoder's logits at every position of ``ids``, [len(ids), vocab]."""
    import tensorflow as tf

    from inference.export.keras_llama import (
        DecoderLayer,
        RMSNorm,
        attention_bias,
        inverse_frequencies,
        layer_weight_map,
        rotary_tables,
    )

    count = len(ids)
    x = tf.constant(weights.embedding_rows(ids)[None])
    cos, sin = rotary_tables(inverse_frequencies(cfg), tf.range(count, dtype=tf.int64)[None])
    bias = attention_bias(tf.ones([1, count], tf.int64), count)
    empty = tf.zeros([1, cfg.num_kv_heads, 0, cfg.head_dim])
    layer = DecoderLayer(cfg, name="layer")
    for index in range(cfg.num_layers):
        values = weights.layer(index)
        for name, variable in layer_weight_map(layer, index).items():
            variable.assign(values.pop(name))
        assert not values, f"weights the layer does not have: {sorted(values)}"
        x, _, _ = layer(x, cos, sin, bias, empty, empty)
        progress((index + 1) / (cfg.num_layers + 1))
    del layer
    norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, name="final_norm")
    norm.weight.assign(weights.final_norm())
    hidden = norm(x)[0]
    logits = np.empty([count, cfg.vocab_size], np.float32)
    step = max(1, HEAD_SLICE_BYTES // (4 * cfg.hidden_size))
    for start in range(0, cfg.vocab_size, step):
        stop = min(start + step, cfg.vocab_size)
        rows = tf.constant(weights.head_rows(start, stop))
        logits[:, start:stop] = tf.matmul(hidden, rows, transpose_b=True).numpy()
    progress(1.0)
    return logits
