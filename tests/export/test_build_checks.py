"""The build's own checks fail a build whose output is wrong in one small place.

Each test damages one thing on the way out of the real pipeline (one weight, one rotary table
entry, one tokenizer entry), as a bug in the pipeline would, and expects the build to refuse
it with a plain ``BuildError`` and leave nothing in the cache."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from gguf import GGMLQuantizationType as Q
from onnx import numpy_helper

from inference.export import build as build_module
from inference.export import onnx_variants
from inference.export.build import BuildError, build
from inference.model_folder import ModelFolder
from tests.tiny_model import write_tiny_gguf

Edit = Callable[[onnx.ModelProto], None]


def damage_variants(monkeypatch: pytest.MonkeyPatch, variants: set[str], edit: Edit) -> None:
    real = build_module.build_variant

    def damaged(fused, weights, variant):  # type: ignore[no-untyped-def]
        model = real(fused, weights, variant)
        if variant in variants:
            edit(model)
        return model

    monkeypatch.setattr(build_module, "build_variant", damaged)


def change(name: str, index: tuple[int, ...], how: Callable[[float], float]) -> Edit:
    def edit(model: onnx.ModelProto) -> None:
        tensor = next(t for t in model.graph.initializer if t.name == name)
        values = numpy_helper.to_array(tensor).copy()
        values[index] = how(float(values[index]))
        tensor.CopyFrom(numpy_helper.from_array(values, name))

    return edit


def refused(gguf: Path, cache: Path, match: str, **kwargs: object) -> None:
    with pytest.raises(BuildError, match=match):
        build(gguf, cache_root=cache, **kwargs)  # type: ignore[arg-type]
    assert [p.name for p in cache.iterdir() if p.name != "sources"] == []


def test_one_wrong_float_weight_fails_the_build(
    tiny_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    damage_variants(
        monkeypatch, {"fp32"}, change("layer_0.mlp.down_proj", (3, 5), lambda w: w + 0.05)
    )
    refused(tiny_gguf, tmp_path / "cache", r"failed a check: ONNX logits differ from TensorFlow's")


def test_one_wrong_rotary_entry_fails_the_build(
    tiny_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Position 1 only, by 0.02: the last of the 48 checked positions sees it only through one
    # attended key (its logits move by ~6e-4, under the 1e-3 tolerance), position 1 by ~1.4e-2.
    # A check of the last position alone let this through; every position is compared now.
    damage_variants(
        monkeypatch, {"q4", "fp32"}, change("rotary.cos_cache", (1, 2), lambda c: c - 0.02)
    )
    refused(tiny_gguf, tmp_path / "cache", r"ONNX logits differ .* at position 1 of 48")


def test_one_wrong_tokenizer_entry_fails_the_build(
    tiny_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = build_module.build_tokenizer_json

    def swapped(reader):  # type: ignore[no-untyped-def]
        document = json.loads(real(reader))
        vocab = document["model"]["vocab"]
        first, second = [text for text, token_id in vocab.items() if token_id in (40, 41)]
        vocab[first], vocab[second] = vocab[second], vocab[first]
        return json.dumps(document)

    monkeypatch.setattr(build_module, "build_tokenizer_json", swapped)
    # Such a tokenizer still round-trips text (it decodes what it encodes): only the
    # comparison with the GGUF's own token list sees the swap.
    refused(tiny_gguf, tmp_path / "cache", r"tokenizer id 40 is .*, the GGUF says")


def test_a_4bit_only_build_is_checked_against_tensorflow(
    tiny_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One block scale of the 8-bit embedding (shared by the tied output layer) 40x too big:
    # token 200 wins everywhere in the 4-bit model. With only q4 asked for, no float variant
    # is made: the q4 graph computing in float is held against the TensorFlow reference.
    # (The scales are stored flat, two 32-wide blocks per 64-wide row: row 200's first.)
    damage_variants(monkeypatch, {"q4"}, change("embedding.scale", (400,), lambda s: s * 40))
    refused(
        tiny_gguf,
        tmp_path / "cache",
        r"ONNX logits differ from TensorFlow's .*\(q4_float_activations; .* of 48\)",
        variants=("q4",),
    )


def test_a_poor_4bit_quantization_fails_the_agreement_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A float file's q4 is Draftsmith's own quantization. A quantizer that keeps two of the
    # sixteen levels still yields a self-consistent graph (its float twin matches TensorFlow
    # on the values it holds), so only the comparison of the shipped 4-bit model with the
    # float reference on the GGUF's own values can refuse it.
    real = onnx_variants.quantize_4bit

    def coarse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        q, scale, offset = real(values)
        return (q // 8 * 8).astype(np.uint8), scale, offset

    monkeypatch.setattr(onnx_variants, "quantize_4bit", coarse)
    path = write_tiny_gguf(tmp_path / "f32.gguf", linear_type=Q.F32, embedding_type=Q.F32)
    refused(
        path,
        tmp_path / "cache",
        r"4-bit variant agrees with float .* at \d+\.\d% of 256",
        variants=("q4",),
    )


def test_a_4bit_only_build_makes_and_keeps_only_what_was_asked(
    tiny_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = []
    real = build_module.build_variant

    def recording(fused, weights, variant):  # type: ignore[no-untyped-def]
        made.append(variant)
        return real(fused, weights, variant)

    monkeypatch.setattr(build_module, "build_variant", recording)
    result = build(tiny_gguf, cache_root=tmp_path / "cache", variants=("q4",))
    assert made == ["q4"]  # no float variant, not even as a reference
    results = result.report.results if result.report else {}
    assert results["q4_float_activations_vs_tensorflow_max_abs_diff"] < 1e-3
    assert results["q4_float_activations_vs_tensorflow_positions"] == 48
    assert results["q4_float_activations_cached_vs_full_max_abs_diff"] < 1e-3
    assert results["q4_vs_float_positions"] == 256
    assert results["q4_vs_float_top1_agreement"] >= 0.88
    assert "fp32_vs_tensorflow_max_abs_diff" not in results
    folder = ModelFolder.open(result.path)
    assert set(folder.variants) == {"q4"}
    assert sorted(p.name for p in result.path.iterdir()) == sorted(
        ["draftsmith-model.json", "model.q4.onnx", "model.q4.onnx.data", "tokenizer.json"]
    )
