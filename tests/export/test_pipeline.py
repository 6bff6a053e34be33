"""The model pipeline end to end on tiny random Llamas written as real GGUF files."""

from __future__ import annotations

import errno
import json
import threading
from collections import Counter
from pathlib import Path

import gguf
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from gguf import GGMLQuantizationType as Q

from inference.export import cli
from inference.export.build import BuildCancelled, BuildError, build
from inference.export.checks import OnnxDecoder
from inference.model_folder import MANIFEST_NAME, ModelFolder, ModelFolderError
from tests.perf import expect_fast
from tests.tiny_model import write_tiny_gguf


def ops(path: Path) -> Counter:
    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def test_build_writes_a_complete_checked_model_folder(tiny_model_dir: Path) -> None:
    folder = ModelFolder.open(tiny_model_dir)
    folder.verify()
    assert set(folder.variants) == {"q4", "fp32"}
    assert folder.default_variant == "q4"
    assert folder.architecture.num_layers == 2
    assert folder.special_tokens["stop_token_ids"]
    assert "<|im_start|>" in folder.chat_template
    manifest = folder.manifest
    assert manifest["source"]["sha256"] and manifest["pipeline_version"]
    assert set(manifest["files"]) == {
        "tokenizer.json",
        *(f"model.{variant}.onnx{data}" for variant in ("q4", "fp32") for data in ("", ".data")),
    }
    results = manifest["checks"]["results"]
    assert results["fp32_vs_tensorflow_max_abs_diff"] < 1e-3
    assert results["q4_vs_float_top1_agreement"] >= 0.9


def test_the_default_model_goes_by_a_name_a_writer_knows(tiny_gguf: Path) -> None:
    """The default GGUF names itself after a training run ("Smollm2 135M 8k Lc100K Mix1
    Ep2"), which the status bar and the Models dialog would show; other models keep the name
    their GGUF gives."""
    from inference.export.build import model_name
    from inference.export.gguf_source import GGUFSource

    source = GGUFSource(tiny_gguf)
    assert model_name(source, is_default=True) == "SmolLM2 135M Instruct"
    assert model_name(source, is_default=False) == source.name == "Tiny Llama (test)"


def test_variants_use_fused_kernels_and_keep_gguf_blocks(tiny_model_dir: Path) -> None:
    q4 = ops(tiny_model_dir / "model.q4.onnx")
    fp32 = ops(tiny_model_dir / "model.fp32.onnx")
    # 2 layers: per layer packed QKV, o, packed gate/up and down projections; the LM head.
    assert q4["MatMulNBits"] == 2 * 4 + 1
    assert q4["GatherBlockQuantized"] == q4["Gather"] == 0  # the runtime reads the rows
    assert fp32["Gather"] == 1
    for counts in (q4, fp32):
        assert counts["GroupQueryAttention"] == 2
        assert counts["QuickGelu"] == 2
        # Residual adds ride along with the norms after them; only the first and last
        # norms have no residual add in front.
        assert counts["SkipSimplifiedLayerNormalization"] == 3
        assert counts["SimplifiedLayerNormalization"] == 2
        assert counts["Transpose"] == 0 and counts["Softmax"] == 0  # attention is fused
        assert counts["Neg"] == counts["Slice"] == 1  # the LM head's rows: -logit_rows on
    assert sum(fp32.values()) < 38  # (the float tied head's output shape: Shape + Concat)


def test_io_names_and_last_position_logits(tiny_model_dir: Path) -> None:
    session = ort.InferenceSession(
        str(tiny_model_dir / "model.q4.onnx"), providers=["CPUExecutionProvider"]
    )
    inputs = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]
    assert inputs[:3] == ["inputs_embeds", "attention_mask", "position_ids"]
    assert inputs[3:7] == [
        "past_key_values.0.key",
        "past_key_values.0.value",
        "past_key_values.1.key",
        "past_key_values.1.value",
    ]
    assert outputs[:3] == ["logits", "present.0.key", "present.0.value"]
    folder = ModelFolder.open(tiny_model_dir)
    decoder = OnnxDecoder(folder.variant_path(), folder.architecture)
    logits, cache = decoder.step([5, 6, 7, 8], decoder.empty_cache())
    assert logits.shape == (folder.architecture.vocab_size,)
    assert cache[0].shape == (1, 2, 4, 16)


def test_cached_decoding_matches_full_recomputation(tiny_model_dir: Path) -> None:
    folder = ModelFolder.open(tiny_model_dir)
    decoder = OnnxDecoder(folder.variant_path("fp32"), folder.architecture)
    ids = list(range(10, 40))
    full, _ = decoder.step(ids, decoder.empty_cache())
    _, cache = decoder.step(ids[:20], decoder.empty_cache())
    _, cache = decoder.step(ids[20:29], cache)  # a chunk on top of a cache (prompt reuse)
    cached, _ = decoder.step(ids[29:], cache)
    np.testing.assert_allclose(cached, full, atol=1e-4)


def test_tf2onnx_conversion_matches_tensorflow_before_any_rewrite(tiny_gguf: Path) -> None:
    import tensorflow as tf

    from inference.export.gguf_source import GGUFSource
    from inference.export.keras_llama import build_model
    from inference.export.tf_export import convert_model

    cfg = GGUFSource(tiny_gguf).architecture
    model = build_model(cfg)
    proto, bindings = convert_model(model)
    assert len(bindings) == 2 * 9 + 3  # every weight found among the initializers
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    ids = np.array([[3, 9, 27, 81, 100]], np.int64)
    empty = np.zeros([1, cfg.num_kv_heads, 0, cfg.head_dim], np.float32)
    feeds = {
        "input_ids": ids,
        "attention_mask": np.ones_like(ids),
        "position_ids": np.arange(5)[None],
    }
    for i in range(cfg.num_layers):
        feeds[f"past_keys_{i}"] = feeds[f"past_values_{i}"] = empty
    onnx_logits = session.run(["logits"], feeds)[0]
    tf_logits, _ = model(
        tf.constant(ids),
        tf.ones([1, 5], tf.int64),
        tf.constant(feeds["position_ids"]),
        [empty] * 2,
        [empty] * 2,
    )
    np.testing.assert_allclose(onnx_logits, tf_logits.numpy(), atol=1e-4)


@pytest.mark.parametrize(
    ("linear", "embedding", "untied"),
    # (A float file's 4-bit variant is a real quantization: tests/export/test_kquants.py.)
    [
        (Q.Q4_0, Q.Q8_0, False),
        (Q.Q8_0, Q.F32, False),
        (Q.Q5_0, Q.Q4_1, False),
        (Q.Q4_0, Q.Q8_0, True),
    ],
    ids=["q4_0", "q8_0-f32-embedding", "q5_0-q4_1-tied-embedding", "q4_0-untied"],
)
def test_other_gguf_tensor_types_convert_exactly(
    tmp_path: Path, linear: Q, embedding: Q, untied: bool
) -> None:
    path = write_tiny_gguf(
        tmp_path / "model.gguf", linear_type=linear, embedding_type=embedding, untied=untied, seed=3
    )
    result = build(path, cache_root=tmp_path / "cache")
    results = result.report.results
    assert results["fp32_vs_tensorflow_max_abs_diff"] < 1e-3
    folder = ModelFolder.open(result.path)
    q4 = OnnxDecoder(folder.variant_path("q4"), folder.architecture)
    fp32 = OnnxDecoder(folder.variant_path("fp32"), folder.architecture)
    ids = list(range(3, 60))
    agreement = (
        q4.logits_at_every_position(ids).argmax(-1) == fp32.logits_at_every_position(ids).argmax(-1)
    ).mean()
    assert agreement >= 0.9


@pytest.mark.perf
def test_second_build_comes_from_the_cache(tiny_gguf: Path, tmp_path: Path) -> None:
    first = build(tiny_gguf, cache_root=tmp_path, variants=("q4",))
    second = build(tiny_gguf, cache_root=tmp_path, variants=("q4",))
    assert not first.cached and second.cached
    assert second.path == first.path
    expect_fast(second.seconds, 1.0, "finding a built model in the cache")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".building")] == []


# -- bad input: a clear error, nothing half-written ------------------------------------------
def assert_nothing_written(cache: Path) -> None:
    leftovers = [p.name for p in cache.iterdir() if p.name != "sources"] if cache.exists() else []
    assert leftovers == []


def test_truncated_gguf_is_refused_clearly(tiny_gguf: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(tiny_gguf.read_bytes()[: tiny_gguf.stat().st_size // 2])
    with pytest.raises(BuildError, match="truncated or corrupted"):
        build(broken, cache_root=tmp_path / "cache")
    assert_nothing_written(tmp_path / "cache")


def test_garbage_file_is_refused_clearly(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"\0" * 4096)
    with pytest.raises(BuildError, match="not a readable GGUF"):
        build(junk, cache_root=tmp_path / "cache")


def test_missing_file_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="does not exist"):
        build(tmp_path / "nope.gguf", cache_root=tmp_path / "cache")


def test_non_llama_architecture_is_named(tmp_path: Path) -> None:
    path = tmp_path / "gpt2.gguf"
    writer = gguf.GGUFWriter(str(path), "gpt2")
    writer.add_tensor("token_embd.weight", np.zeros((8, 32), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(BuildError, match="'gpt2' model; Draftsmith can convert Llama"):
        build(path, cache_root=tmp_path / "cache")


def test_unsupported_tensor_type_is_named(tmp_path: Path) -> None:
    path = write_tiny_gguf(tmp_path / "bf16.gguf", linear_type=Q.BF16)
    with pytest.raises(BuildError, match="stored as BF16"):
        build(path, cache_root=tmp_path / "cache")


def test_disk_full_leaves_no_half_written_model(
    tiny_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(onnx, "save_model", full_disk)
    cache = tmp_path / "cache"
    with pytest.raises(BuildError, match="Not enough disk space"):
        build(tiny_gguf, cache_root=cache)
    assert_nothing_written(cache)


def test_cancelled_build_leaves_nothing(tiny_gguf: Path, tmp_path: Path) -> None:
    cancel = threading.Event()

    def progress(step: str, fraction: float) -> None:
        if step == "convert":
            cancel.set()

    with pytest.raises(BuildCancelled):
        build(tiny_gguf, cache_root=tmp_path / "cache", progress=progress, cancel=cancel)
    assert_nothing_written(tmp_path / "cache")


# -- damaged model folders ----------------------------------------------------------------
@pytest.fixture
def model_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def test_flipped_byte_is_reported_as_damage(model_copy: Path) -> None:
    target = model_copy / "model.q4.onnx"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    folder = ModelFolder.open(model_copy)
    folder.verify("fp32")  # the other variant is fine
    with pytest.raises(ModelFolderError, match=r"model\.q4\.onnx .* is damaged.*draftsmith-model"):
        folder.verify("q4")


def test_missing_file_and_bad_manifest_are_reported(model_copy: Path) -> None:
    (model_copy / "tokenizer.json").unlink()
    with pytest.raises(ModelFolderError, match=r"tokenizer\.json is missing"):
        ModelFolder.open(model_copy)
    (model_copy / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(ModelFolderError, match="cannot be read"):
        ModelFolder.open(model_copy)
    (model_copy / MANIFEST_NAME).write_text(json.dumps({"format_version": 99}))
    with pytest.raises(ModelFolderError, match="incompatible version"):
        ModelFolder.open(model_copy)


# -- command line ---------------------------------------------------------------------------
def test_cli_info_and_verify(tiny_model_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["info", str(tiny_model_dir)]) == 0
    out = capsys.readouterr().out
    assert "2 layers" in out and "variant q4 (default)" in out
    assert cli.main(["verify", str(tiny_model_dir)]) == 0
    assert "checksums match" in capsys.readouterr().out


def test_cli_reports_damage_without_a_traceback(
    model_copy: Path, capsys: pytest.CaptureFixture
) -> None:
    (model_copy / "model.fp32.onnx").write_bytes(b"garbage")
    assert cli.main(["verify", str(model_copy)]) == 1
    err = capsys.readouterr().err
    assert "damaged" in err and "Traceback" not in err


def test_cli_build_of_a_bad_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["build", str(tmp_path / "missing.gguf"), "--cache-dir", str(tmp_path)]) == 1
    assert "does not exist" in capsys.readouterr().err
