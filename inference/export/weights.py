"""Names the model's weights and fetches each one from the GGUF file.

Weight names follow the Keras model (``layer_3.attention.q_proj``); ``qkv_proj`` and
``gate_up_proj`` are the row-wise concatenations the rewrite packs into one MatMul each."""

from __future__ import annotations

import mmap
import re

import numpy as np

from inference.export.gguf_source import FLOAT_TYPES, BlockWeight, GGUFSource, unpack_blocks

_LINEAR_PARTS = {
    "attention.q_proj": "attn_q",
    "attention.k_proj": "attn_k",
    "attention.v_proj": "attn_v",
    "attention.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_NORM_PARTS = {"input_norm": "attn_norm", "post_attention_norm": "ffn_norm"}
_BIASES = {
    "attention.q_bias": ("attn_q",),
    "attention.k_bias": ("attn_k",),
    "attention.v_bias": ("attn_v",),
    "attention.qkv_bias": ("attn_q", "attn_k", "attn_v"),  # packed like qkv_proj
}
_LAYER = re.compile(r"layer_(\d+)\.(.+)")


def concat_rows(parts: list[BlockWeight]) -> BlockWeight:
    """Stack weights that share an input into one.

    Block weights of different types (a Q4_K_M's Q4_K queries next to Q6_K values) are
    first brought to one layout that holds each exactly: the most bits, the smallest
    block, an offset where any part has one. Float parts make the stack float."""
    first = parts[0]
    if any(not p.is_block_quantized for p in parts):
        parts = [BlockWeight(p.qtype, p.rows, p.cols, dense=p.to_float()) for p in parts]
    elif any(p.layout != first.layout for p in parts):
        zeros = {p.zero for p in parts if p.bits == 4}
        bits = 8 if any(p.bits == 8 for p in parts) or len(zeros) > 1 else 4
        block = min(p.block for p in parts)
        offset = any(p.minimum is not None for p in parts)
        parts = [p.widened(bits, block, offset) for p in parts]
    first = parts[0]

    def stack(field: str) -> np.ndarray | None:
        values = [getattr(p, field) for p in parts]
        return None if values[0] is None else np.concatenate(values, axis=0)

    return BlockWeight(
        first.qtype,
        sum(p.rows for p in parts),
        first.cols,
        stack("dense"),
        stack("q"),
        stack("scale"),
        first.zero,
        stack("minimum"),
        first.bits,
        first.block,
    )


class GGUFWeights:
    """Weights of a GGUF file by model weight name.

    The file is memory-mapped; every page a read touches would stay counted in the build's
    resident memory until the end (the whole file, 2 GB for a 3B model's Q4_K_M), so the
    mapping's pages are dropped after each read: the kernel keeps them in its page cache,
    and arrays that still view the file fault them back in when used."""

    def __init__(self, source: GGUFSource) -> None:
        self.source = source

    def release_file_pages(self) -> None:
        mapping = getattr(self.source.reader.data, "_mmap", None)
        if mapping is not None and hasattr(mmap, "MADV_DONTNEED"):
            mapping.madvise(mmap.MADV_DONTNEED)

    def matrix(self, name: str) -> BlockWeight:
        """A linear weight as [out, in] (the transpose of the Keras kernel)."""
        try:
            return self._matrix(name)
        finally:
            self.release_file_pages()

    def _matrix(self, name: str) -> BlockWeight:
        if name == "embedding":
            return self.source.matrix("token_embd.weight")
        if name == "lm_head":
            return self.source.output_matrix()
        match = _LAYER.fullmatch(name)
        if match is None:
            raise KeyError(name)
        layer, part = int(match[1]), match[2]
        packed = {
            "attention.qkv_proj": ("attention.q_proj", "attention.k_proj", "attention.v_proj"),
            "mlp.gate_up_proj": ("mlp.gate_proj", "mlp.up_proj"),
        }.get(part)
        if packed:
            return concat_rows([self._matrix(f"layer_{layer}.{p}") for p in packed])
        return self.source.layer_matrix(layer, _LINEAR_PARTS[part])

    def table_rows(self, name: str, rows: slice | np.ndarray) -> BlockWeight:
        """Some rows of ``embedding`` or ``lm_head`` ([vocab, hidden]; tied: the embedding),
        read without the rest of the table: a 128k-token table is 1.5 GB as float32."""
        tied = name == "embedding" or self.source.architecture.tie_embeddings
        tensor = self.source.tensors["token_embd.weight" if tied else "output.weight"]
        cols = int(tensor.shape[0])
        raw = np.array(tensor.data[rows])
        self.release_file_pages()
        count = raw.shape[0]
        if tensor.tensor_type in FLOAT_TYPES:
            dense = raw.astype(np.float32).reshape(count, cols)
            return BlockWeight(tensor.tensor_type, count, cols, dense=dense)
        return unpack_blocks(raw, tensor.tensor_type, count, cols)

    def vector(self, name: str) -> np.ndarray:
        if name == "final_norm.weight":
            return self.source.vector("output_norm.weight")
        match = _LAYER.fullmatch(name)
        if match is not None and match[2] in _BIASES:
            layer = int(match[1])
            return np.concatenate([self.source.bias(layer, p) for p in _BIASES[match[2]]])
        if match is None or not match[2].endswith(".weight"):
            raise KeyError(name)
        part = _NORM_PARTS[match[2].removesuffix(".weight")]
        return self.source.vector(f"blk.{match[1]}.{part}.weight")

    def keras_weights(self, names: list[str]) -> dict[str, np.ndarray]:
        """Float values in the Keras model's layout (kernels are [in, out])."""
        values = {}
        for name in names:
            if name.endswith((".weight", "_bias")):
                values[name] = self.vector(name)
            elif name == "embedding":
                values[name] = self.matrix(name).to_float()
            else:
                values[name] = np.ascontiguousarray(self.matrix(name).to_float().T)
        return values
