"""Architectures beyond SmolLM2's plain Llama, built from synthetic GGUF files (no llama.cpp
needed here; test_llamacpp_architectures.py holds the same files against llama.cpp)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from tokenizers import Tokenizer

from inference.export.build import BuildError, build
from inference.export.checks import SAMPLE_TEXT
from inference.model_folder import ModelFolder
from tests.synthetic_gguf import (
    Shape,
    llama3_rope_factors,
    pad_vocabulary,
    tokenizer_metadata,
    write_synthetic_gguf,
)

SMALL = {"layers": 1, "hidden": 64, "heads": 2, "kv_heads": 1, "intermediate": 128}


@pytest.fixture(scope="module")
def tiny_fields(tiny_gguf: Path) -> dict[str, Any]:
    return tokenizer_metadata(gguf.GGUFReader(str(tiny_gguf)))


def _initializer(path: Path, name: str) -> np.ndarray:
    model = onnx.load(str(path))
    return numpy_helper.to_array(next(i for i in model.graph.initializer if i.name == name))


def test_qwen2_builds_with_its_biases_tokenizer_and_template(
    tiny_fields: dict[str, Any], tmp_path: Path
) -> None:
    fields = dict(tiny_fields, **{"tokenizer.ggml.pre": "qwen2"})
    shape = Shape(arch="qwen2", qkv_bias=True, untied=True, **SMALL)
    path = write_synthetic_gguf(tmp_path / "qwen2.gguf", fields, shape)
    model = ModelFolder.open(build(path, cache_root=tmp_path / "cache").path)
    assert model.architecture.type == "qwen2"
    assert model.architecture.attention_bias and not model.architecture.tie_embeddings
    assert model.chat_template == fields["tokenizer.chat_template"]
    # The packed bias is q, k, v biases in that order, as stored (qwen2 is not permuted).
    reader = gguf.GGUFReader(str(path))
    stored = {t.name: np.asarray(t.data) for t in reader.tensors}
    expected = np.concatenate([stored[f"blk.0.attn_{p}.bias"] for p in "qkv"])
    for variant in ("q4", "fp32"):
        packed = _initializer(model.variant_path(variant), "layer_0.attention.qkv_bias")
        np.testing.assert_array_equal(packed, expected)
    ops = Counter(n.op_type for n in onnx.load(str(model.variant_path("q4"))).graph.node)
    assert ops["GroupQueryAttention"] == 1  # the bias did not break the fused attention


def test_a_padded_vocabulary_in_an_f16_file_with_a_tied_head_builds(
    tiny_fields: dict[str, Any], tmp_path: Path
) -> None:
    """Qwen 2.5's GGUFs pad the vocabulary to the embedding's rows with UNUSED ``[PAD<id>]``
    tokens (151936 rows for 151665 tokens); the larger-default benchmark's model does too,
    stored F16 like a converter's dump, with a tied head made decided by its scales."""
    real = len(tiny_fields["tokenizer.ggml.tokens"])
    size = real + 64
    fields = pad_vocabulary(dict(tiny_fields, **{"tokenizer.ggml.pre": "qwen2"}), size)
    shape = Shape(
        arch="qwen2", qkv_bias=True, float16=True, embedding_scale=0.5, residual_scale=0.1, **SMALL
    )
    path = write_synthetic_gguf(tmp_path / "padded.gguf", fields, shape)
    stored = {t.name: t.tensor_type.name for t in gguf.GGUFReader(str(path)).tensors}
    assert stored["token_embd.weight"] == "F16" and stored["output_norm.weight"] == "F32"
    assert "output.weight" not in stored
    model = ModelFolder.open(build(path, cache_root=tmp_path / "cache").path)
    assert model.architecture.tie_embeddings
    tokenizer = Tokenizer.from_file(str(model.tokenizer_path))
    assert tokenizer.get_vocab_size() == size
    assert tokenizer.token_to_id(f"[PAD{size - 1}]") == size - 1
    assert max(tokenizer.encode(SAMPLE_TEXT, add_special_tokens=False).ids) < real


def test_llama3_rope_freqs_and_the_context_cap(tiny_fields: dict[str, Any], tmp_path: Path) -> None:
    scaling = (8.0, 1.0, 4.0, 16)
    shape = Shape(llama3_rope=scaling, context=4096, **SMALL)
    path = write_synthetic_gguf(tmp_path / "llama3.gguf", tiny_fields, shape)
    result = build(path, cache_root=tmp_path / "cache", max_context=1024)
    model = ModelFolder.open(result.path)
    head_dim = SMALL["hidden"] // SMALL["heads"]
    factors = llama3_rope_factors(head_dim, shape.rope_theta, scaling)
    assert model.architecture.rope_freq_factors == tuple(float(f) for f in factors)
    assert model.context_length == 1024
    assert model.manifest["source_context_length"] == 4096
    cos = _initializer(model.variant_path("q4"), "rotary.cos_cache")
    assert cos.shape == (1024, head_dim // 2)
    inv_freq = 1.0 / shape.rope_theta ** (np.arange(0, head_dim, 2) / head_dim) / factors
    np.testing.assert_allclose(cos[100], np.cos(100 * inv_freq), atol=1e-6)
    # A different cap is a different build, not the cached one.
    assert build(path, cache_root=tmp_path / "cache").path != result.path


def test_sliding_window_is_full_attention_like_llamacpp(
    tiny_fields: dict[str, Any], tmp_path: Path
) -> None:
    """llama.cpp runs GGUF `llama` files (Mistral 7B included) with full attention even when
    the file names a sliding window; Draftsmith does the same, so both give one answer."""
    shape = Shape(sliding_window=16, **SMALL)
    path = write_synthetic_gguf(tmp_path / "mistral.gguf", tiny_fields, shape)
    model = ModelFolder.open(build(path, cache_root=tmp_path / "cache", variants=("q4",)).path)
    graph = onnx.load(str(model.variant_path("q4"))).graph
    windows = {
        a.i
        for n in graph.node
        if n.op_type == "GroupQueryAttention"
        for a in n.attribute
        if a.name == "local_window_size"
    }
    assert windows == {-1}


def _with_extra(tmp_path: Path, fields: dict[str, Any], extra: dict[str, Any]) -> Path:
    path = tmp_path / "source.gguf"
    write_synthetic_gguf(path, fields, Shape(**SMALL))
    reader = gguf.GGUFReader(str(path))
    target = tmp_path / "changed.gguf"
    writer = gguf.GGUFWriter(str(target), "llama")
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        sub = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), field.types[0], sub)
    for key, value in extra.items():
        if isinstance(value, str):
            writer.add_string(key, value)
        else:
            writer.add_tensor(key, value)
    for tensor in reader.tensors:
        writer.add_tensor(tensor.name, np.asarray(tensor.data))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return target


def test_a_tensor_the_model_would_ignore_is_refused_by_name(
    tiny_fields: dict[str, Any], tmp_path: Path
) -> None:
    bias = np.zeros(SMALL["hidden"], np.float32)
    path = _with_extra(tmp_path, tiny_fields, {"blk.0.attn_output.bias": bias})
    with pytest.raises(BuildError, match=r"blk\.0\.attn_output\.bias.*not supported"):
        build(path, cache_root=tmp_path / "cache")


def test_yarn_rope_scaling_is_refused_by_name(tiny_fields: dict[str, Any], tmp_path: Path) -> None:
    path = _with_extra(tmp_path, tiny_fields, {"llama.rope.scaling.type": "yarn"})
    with pytest.raises(BuildError, match=r"'yarn' rope scaling.*linear"):
        build(path, cache_root=tmp_path / "cache")
