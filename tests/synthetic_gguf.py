"""Synthetic GGUF files for the llama.cpp parity tests: random weights, a real tokenizer.

The weights are random float32 in llama.cpp's own tensor layout for the architecture (Q/K
rows permuted for ``llama``, as llama.cpp's converter writes them; plain for ``qwen2``); the
tokenizer metadata is copied from a real GGUF (the default model's), so llama.cpp loads and
tokenizes the file as it would a downloaded one. llama.cpp's quantizer then makes every
quant type from the one float file (``tests/llamacpp_reference.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np


@dataclass(frozen=True)
class Shape:
    """A tiny model whose every matrix width is a multiple of 256 (K-quant super-blocks)."""

    arch: str = "llama"
    layers: int = 2
    hidden: int = 256
    heads: int = 4
    kv_heads: int = 2
    intermediate: int = 512
    context: int = 4096
    rope_theta: float = 10000.0
    untied: bool = False
    qkv_bias: bool = False
    # Llama 3's rope_freqs tensor: (factor, low_freq_factor, high_freq_factor, original ctx)
    llama3_rope: tuple[float, float, float, int] | None = None
    sliding_window: int | None = None
    seed: int = 0
    # Matrices stored as F16 (an "F16 dump", half the size and memory of F32; vectors stay F32)
    float16: bool = False
    # Standard deviation of the embedding, and a factor on the layers' output matrices
    # (attn_output, ffn_down). A deep random model with a tied head predicts nearly at random,
    # where any rounding flips the top token; a small embedding (logits in a trained model's
    # range) and small layer outputs keep the residual stream near the input token's
    # embedding, so the model is decided (it echoes its input) and the build's checks apply.
    embedding_scale: float = 1.0
    residual_scale: float = 1.0


def _rope_permute(weight: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's converter layout for the ``llama`` architecture's Q/K rows."""
    rows = weight.shape[0]
    shape = (heads, 2, rows // heads // 2, *weight.shape[1:])
    return weight.reshape(shape).swapaxes(1, 2).reshape(weight.shape)


def llama3_rope_factors(
    head_dim: int, theta: float, scaling: tuple[float, float, float, int]
) -> np.ndarray:
    """What llama.cpp's converter writes as ``rope_freqs.weight`` for a Llama 3.1 model."""
    factor, low_freq_factor, high_freq_factor, original = scaling
    freqs = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    low_wavelen, high_wavelen = original / low_freq_factor, original / high_freq_factor
    factors = []
    for freq in freqs:
        wavelen = 2 * np.pi / freq
        if wavelen < high_wavelen:
            factors.append(1.0)
        elif wavelen > low_wavelen:
            factors.append(factor)
        else:
            smooth = (original / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(factors, np.float32)


def tokenizer_metadata(reader: gguf.GGUFReader) -> dict[str, Any]:
    """A GGUF's ``tokenizer.*`` entries as plain values (tokens, merges, ids, template)."""
    return {
        key: field.contents()
        for key, field in reader.fields.items()
        if key.startswith("tokenizer.")
    }


def _add_tokenizer(writer: gguf.GGUFWriter, fields: dict[str, Any]) -> int:
    for key, value in fields.items():
        if key == "tokenizer.ggml.token_type":
            writer.add_token_types(list(value))
        elif key == "tokenizer.ggml.scores":
            writer.add_token_scores([float(score) for score in value])
        elif isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, int):
            writer.add_uint32(key, value)
        elif isinstance(value, str):
            writer.add_string(key, value)
        elif isinstance(value, list):
            writer.add_array(key, value)
        else:
            raise TypeError(f"unexpected tokenizer field {key}: {type(value).__name__}")
    return len(fields["tokenizer.ggml.tokens"])


def write_synthetic_gguf(path: Path, tokenizer: dict[str, Any], shape: Shape = Shape()) -> Path:
    """An F32 (or F16: ``shape.float16``) GGUF of ``shape`` with ``tokenizer``'s vocabulary
    (see the module docstring)."""
    rng = np.random.default_rng(shape.seed)
    arch = shape.arch
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name(f"Synthetic {arch} (test)")
    writer.add_license("apache-2.0")
    writer.add_file_type(
        gguf.LlamaFileType.MOSTLY_F16 if shape.float16 else gguf.LlamaFileType.ALL_F32
    )
    writer.add_block_count(shape.layers)
    writer.add_context_length(shape.context)
    writer.add_embedding_length(shape.hidden)
    writer.add_feed_forward_length(shape.intermediate)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.kv_heads)
    writer.add_rope_freq_base(shape.rope_theta)
    writer.add_layer_norm_rms_eps(1e-6)
    head_dim = shape.hidden // shape.heads
    if arch == "llama":
        writer.add_rope_dimension_count(head_dim)
    if shape.sliding_window:
        writer.add_sliding_window(shape.sliding_window)
    vocab = _add_tokenizer(writer, tokenizer)

    def matrix(name: str, rows: int, cols: int, scale: float) -> np.ndarray:
        values = (rng.standard_normal((rows, cols)) * scale).astype(np.float32)
        if name == "output.weight":
            # Random logits are nearly tied everywhere, so any rounding flips the top token;
            # a head near the embedding makes the model as decided as a trained one (and
            # still distinct: a build that read the embedding instead would be far off).
            values += embedding
        if arch == "llama" and name.endswith("attn_q.weight"):
            values = _rope_permute(values, shape.heads)
        elif arch == "llama" and name.endswith("attn_k.weight"):
            values = _rope_permute(values, shape.kv_heads)
        writer.add_tensor(name, values.astype(np.float16) if shape.float16 else values)
        return values

    def vector(name: str, width: int, around: float, spread: float) -> None:
        writer.add_tensor(name, (around + spread * rng.standard_normal(width)).astype(np.float32))

    kv_width = shape.kv_heads * head_dim
    wide = shape.hidden**-0.5
    embedding = matrix("token_embd.weight", vocab, shape.hidden, shape.embedding_scale)
    if shape.llama3_rope is not None:
        writer.add_tensor(
            "rope_freqs.weight", llama3_rope_factors(head_dim, shape.rope_theta, shape.llama3_rope)
        )
    for i in range(shape.layers):
        vector(f"blk.{i}.attn_norm.weight", shape.hidden, 1.0, 0.1)
        matrix(f"blk.{i}.attn_q.weight", shape.hidden, shape.hidden, 2 * wide)
        matrix(f"blk.{i}.attn_k.weight", kv_width, shape.hidden, 2 * wide)
        matrix(f"blk.{i}.attn_v.weight", kv_width, shape.hidden, wide)
        if shape.qkv_bias:
            vector(f"blk.{i}.attn_q.bias", shape.hidden, 0.0, 0.5)
            vector(f"blk.{i}.attn_k.bias", kv_width, 0.0, 0.5)
            vector(f"blk.{i}.attn_v.bias", kv_width, 0.0, 0.5)
        matrix(
            f"blk.{i}.attn_output.weight", shape.hidden, shape.hidden, wide * shape.residual_scale
        )
        vector(f"blk.{i}.ffn_norm.weight", shape.hidden, 1.0, 0.1)
        matrix(f"blk.{i}.ffn_gate.weight", shape.intermediate, shape.hidden, wide)
        matrix(f"blk.{i}.ffn_up.weight", shape.intermediate, shape.hidden, wide)
        matrix(
            f"blk.{i}.ffn_down.weight",
            shape.hidden,
            shape.intermediate,
            shape.intermediate**-0.5 * shape.residual_scale,
        )
    vector("output_norm.weight", shape.hidden, 1.0, 0.1)
    if shape.untied:
        matrix("output.weight", vocab, shape.hidden, 0.5)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def cut_vocabulary(fields: dict[str, Any], size: int) -> dict[str, Any]:
    """The first ``size`` tokens of a byte-level BPE vocabulary and the merges among them:
    still a complete tokenizer (every byte is a token), with a small embedding table."""
    tokens = list(fields["tokenizer.ggml.tokens"][:size])
    kept = set(tokens)
    merges = []
    for merge in fields["tokenizer.ggml.merges"]:
        left, right = merge.split(" ", 1)
        if left in kept and right in kept and left + right in kept:
            merges.append(merge)
    cut = dict(fields)
    cut["tokenizer.ggml.tokens"] = tokens
    cut["tokenizer.ggml.token_type"] = list(fields["tokenizer.ggml.token_type"][:size])
    cut["tokenizer.ggml.merges"] = merges
    for key in ("bos", "eos", "unknown", "padding", "eot", "eom"):
        name = f"tokenizer.ggml.{key}_token_id"
        if name in cut and cut[name] >= size:
            del cut[name]
    return cut


def float_copy(source: Path, target: Path, half: bool = True) -> Path:
    """``source`` with every tensor dequantized (matrices to F16, or F32; vectors F32) and
    all its metadata: the "F16 dump" llama.cpp's quantizer starts from."""
    from gguf.quants import dequantize

    reader = gguf.GGUFReader(str(source))
    arch = str(reader.fields["general.architecture"].contents())
    writer = gguf.GGUFWriter(str(target), arch)
    file_type = gguf.LlamaFileType.MOSTLY_F16 if half else gguf.LlamaFileType.ALL_F32
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "general.file_type"):
            continue
        sub_type = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), field.types[0], sub_type)
    writer.add_file_type(file_type)
    for tensor in reader.tensors:
        values = np.asarray(dequantize(tensor.data, tensor.tensor_type), np.float32)
        if half and values.ndim > 1:
            values = values.astype(np.float16)
        writer.add_tensor(tensor.name, values)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return target


def pad_vocabulary(fields: dict[str, Any], size: int) -> dict[str, Any]:
    """``fields`` with its vocabulary padded to ``size`` tokens as llama.cpp's converter pads a
    model whose embedding has more rows than its tokenizer has tokens (Qwen 2.5: 151936 rows):
    ``[PAD<id>]`` tokens of type UNUSED, which no text ever produces."""
    tokens = list(fields["tokenizer.ggml.tokens"])
    if size < len(tokens):
        raise ValueError(f"cannot pad {len(tokens)} tokens down to {size}")
    padded = dict(fields)
    padded["tokenizer.ggml.tokens"] = tokens + [f"[PAD{i}]" for i in range(len(tokens), size)]
    padded["tokenizer.ggml.token_type"] = list(fields["tokenizer.ggml.token_type"]) + [
        int(gguf.TokenType.UNUSED)
    ] * (size - len(tokens))
    return padded
