"""K-quants and the other GGUF block types, kept exact: every tensor of the 4-bit variant
holds, bit for bit in float32, what ``gguf.quants.dequantize`` (the reference) reads."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import onnx
import pytest
from gguf import GGMLQuantizationType as Q
from gguf.quants import dequantize
from onnx import numpy_helper

from inference.embedding_table import EmbeddingTable, EmbeddingTableEntry
from inference.export.build import BuildError, build
from inference.export.gguf_source import SUPPORTED_TYPE_NAMES, unpack_blocks, unpermute_rope_rows
from inference.export.weights import concat_rows
from inference.model_folder import ModelFolder
from tests.kquant_blocks import quantize_any
from tests.tiny_model import write_tiny_gguf

BLOCK_TYPES = [Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0, Q.Q4_K, Q.Q5_K, Q.Q6_K]


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return a.shape == b.shape and bool((a.view(np.uint32) == b.view(np.uint32)).all())


def reference(raw: np.ndarray, qtype: Q, rows: int, cols: int) -> np.ndarray:
    return np.asarray(dequantize(raw, qtype), np.float32).reshape(rows, cols)


# -- unpacking: the codes, scales and offsets mean exactly what ggml means ----------------------
@pytest.mark.parametrize("qtype", BLOCK_TYPES, ids=lambda t: t.name)
def test_blocks_unpack_to_exactly_what_gguf_dequantizes(qtype: Q) -> None:
    rng = np.random.default_rng(7)
    rows, cols = 6, 512
    values = (rng.standard_normal((rows, cols)) * rng.uniform(0.01, 2, (rows, 1))).astype(
        np.float32
    )
    values[0, :40] = 0.0  # an all-zero block (scale 0)
    raw = quantize_any(values, qtype)
    weight = unpack_blocks(raw, qtype, rows, cols)
    assert same_bits(weight.to_float(), reference(raw, qtype, rows, cols))
    # Codes fit their width and the layout MatMulNBits is given.
    assert weight.q is not None and int(weight.q.max()) < (1 << weight.bits)
    assert weight.scale is not None and weight.scale.shape == (rows, cols // weight.block)
    assert (weight.bits, weight.block) == {Q.Q4_0: (4, 32), Q.Q4_1: (4, 32), Q.Q4_K: (4, 32)}.get(
        qtype, (8, 16 if qtype == Q.Q6_K else 32)
    )


@pytest.mark.parametrize("qtype", [Q.Q4_K, Q.Q5_K, Q.Q6_K], ids=lambda t: t.name)
def test_arbitrary_k_quant_bytes_unpack_exactly(qtype: Q) -> None:
    """Every bit of the super-block counts (scales' packed high bits, qh planes, signs)."""
    rng = np.random.default_rng(11)
    rows, cols = 4, 768
    size = gguf.GGML_QUANT_SIZES[qtype][1]
    raw = rng.integers(0, 256, (rows, cols // 256 * size), dtype=np.uint8)
    # Keep the float16 super-block scales finite and small (random bytes may spell inf/NaN).
    supers = raw.reshape(rows, -1, size)
    halves = rng.uniform(-0.01, 0.01, (*supers.shape[:2], 2)).astype(np.float16).view(np.uint8)
    if qtype == Q.Q6_K:
        supers[..., size - 2 :] = halves[..., :2]
    else:
        supers[..., :4] = halves
    ours = unpack_blocks(raw, qtype, rows, cols).to_float()
    assert same_bits(ours, reference(raw, qtype, rows, cols))


def test_mixed_types_stack_exactly_into_one_layout() -> None:
    """A Q4_K_M's packed QKV: Q4_K queries and keys, Q6_K values -> one exact layout."""
    rng = np.random.default_rng(5)
    parts, expected = [], []
    for qtype, rows in ((Q.Q4_K, 8), (Q.Q4_0, 4), (Q.Q6_K, 4), (Q.Q5_1, 4)):
        raw = quantize_any(rng.standard_normal((rows, 256)).astype(np.float32), qtype)
        parts.append(unpack_blocks(raw, qtype, rows, 256))
        expected.append(reference(raw, qtype, rows, 256))
    stacked = concat_rows(parts)
    assert (stacked.bits, stacked.block) == (8, 16) and stacked.minimum is not None
    assert same_bits(stacked.to_float(), np.concatenate(expected))
    same = concat_rows(parts[:1] * 2)  # one type: nothing widened
    assert (same.bits, same.block) == (4, 32)


# -- what the built 4-bit variant holds ----------------------------------------------------
def matmul_nbits_weights(path: Path) -> dict[str, np.ndarray]:
    """Each MatMulNBits weight of an ONNX file, decoded back to float [N, K] from its
    packed codes, scales, zero points and offset term."""
    model = onnx.load(str(path))
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    decoded = {}
    for node in model.graph.node:
        if node.op_type != "MatMulNBits":
            continue
        b, s = node.input[1:3]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        n, k, bits, block = attrs["N"], attrs["K"], attrs["bits"], attrs["block_size"]
        packed = init[b].reshape(n, k // block, -1)
        if bits == 4:
            codes = np.stack([packed & 0x0F, packed >> 4], axis=-1).reshape(n, -1, block)
        else:
            codes = packed.reshape(n, -1, block)
        if len(node.input) > 3 and node.input[3]:
            zeros = init[node.input[3]]
            if bits == 4:
                zeros = np.stack([zeros & 0x0F, zeros >> 4], -1).reshape(n, -1)[:, : k // block]
            zeros = zeros.reshape(n, -1, 1).astype(np.float32)
        else:
            zeros = np.float32(1 << (bits - 1))
        scale = init[s].reshape(n, -1, 1)
        values = (codes.astype(np.float32) - zeros) * scale
        name = {"embedding": "lm_head"}.get(b.removesuffix(".q"), b.removesuffix(".q"))
        if f"{name}.minimum" in init:
            values += init[f"{name}.minimum"].T[..., None]
        decoded[name] = values.reshape(n, k)
    return decoded


def gguf_reference(path: Path) -> dict[str, np.ndarray]:
    """The model's linear weights as ``gguf.quants.dequantize`` reads them, [out, in],
    named and packed as the ONNX graph names them."""
    reader = gguf.GGUFReader(path)
    tensors = {t.name: t for t in reader.tensors}
    heads = int(reader.fields["llama.attention.head_count"].contents())
    kv_heads = int(reader.fields["llama.attention.head_count_kv"].contents())

    def read(name: str) -> np.ndarray:
        t = tensors[name]
        values = np.asarray(dequantize(t.data, t.tensor_type), np.float32)
        values = values.reshape(int(t.shape[1]), int(t.shape[0]))
        if name.endswith(("attn_q.weight", "attn_k.weight")):
            n = heads if "attn_q" in name else kv_heads
            values = values[unpermute_rope_rows(values.shape[0], n)]
        return values

    layers = int(reader.fields["llama.block_count"].contents())
    out = {}
    for i in range(layers):
        b = f"blk.{i}."
        out[f"layer_{i}.attention.qkv_proj"] = np.concatenate(
            [read(b + p + ".weight") for p in ("attn_q", "attn_k", "attn_v")]
        )
        out[f"layer_{i}.attention.o_proj"] = read(b + "attn_output.weight")
        out[f"layer_{i}.mlp.gate_up_proj"] = np.concatenate(
            [read(b + p + ".weight") for p in ("ffn_gate", "ffn_up")]
        )
        out[f"layer_{i}.mlp.down_proj"] = read(b + "ffn_down.weight")
    head = "output.weight" if "output.weight" in tensors else "token_embd.weight"
    out["lm_head"] = read(head)
    return out


def q4_k_m_like(name: str) -> Q | None:
    """The mix llama.cpp's Q4_K_M gives the default model (rows of 576 are not a multiple
    of 256, so most tensors fall back to Q5_0): Q5_0, Q4_K, Q6_K, Q8_0 and F32."""
    return {
        "blk.0.ffn_down.weight": Q.Q4_K,
        "blk.1.ffn_down.weight": Q.Q6_K,
        "blk.0.attn_v.weight": Q.Q8_0,
    }.get(name)


def k_quant_mix(name: str) -> Q | None:
    """Rows of 256: every K-quant, mixed inside the packed QKV and gate/up projections."""
    return {
        "attn_q": Q.Q4_K,
        "attn_k": Q.Q4_K,
        "attn_v": Q.Q6_K,
        "attn_output": Q.Q5_1,
        "ffn_gate": Q.Q5_K,
        "ffn_up": Q.Q4_K,
        "ffn_down": Q.Q6_K,
        "output": Q.Q6_K,
    }.get(name.split(".")[-2])


BUILDS = {
    "q4_k_m-like": dict(intermediate=256, linear_type=Q.Q5_0, type_of=q4_k_m_like),
    "k-quants": dict(
        hidden=256,
        heads=8,
        kv_heads=4,
        intermediate=512,
        untied=True,
        embedding_type=Q.Q6_K,
        type_of=k_quant_mix,
    ),
}


@pytest.fixture(scope="module", params=sorted(BUILDS))
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp(request.param)
    path = write_tiny_gguf(folder / "model.gguf", seed=4, **BUILDS[request.param])
    return path, build(path, cache_root=folder / "cache")


def test_mixed_file_builds_and_passes_its_checks(built) -> None:  # type: ignore[no-untyped-def]
    path, result = built
    results = result.report.results
    assert results["fp32_vs_tensorflow_max_abs_diff"] < 1e-3
    # The q4 graph computing in float: the GGUF's blocks, exact float math.
    assert results["q4_float_activations_vs_tensorflow_max_abs_diff"] < 1e-3
    assert results["q4_vs_float_top1_agreement"] >= 0.88
    manifest = ModelFolder.open(result.path).manifest
    written = {t.name: t.tensor_type.name for t in gguf.GGUFReader(path).tensors}
    counts: dict[str, int] = {}
    for type_name in written.values():
        counts[type_name] = counts.get(type_name, 0) + 1
    assert manifest["source"]["tensor_types"] == counts


def test_every_linear_weight_is_the_gguf_value_bit_for_bit(built) -> None:  # type: ignore[no-untyped-def]
    path, result = built
    decoded = matmul_nbits_weights(result.path / "model.q4.onnx")
    expected = gguf_reference(path)
    assert set(decoded) == set(expected)  # no linear weight left in float
    for name, values in expected.items():
        assert same_bits(decoded[name], values), name


def test_embedding_table_is_the_gguf_value_bit_for_bit(built) -> None:  # type: ignore[no-untyped-def]
    """Q8_0 (q4_k_m-like) and Q4_K (k-quants, with its offsets) embeddings stay in blocks,
    read by the runtime from the weights file (no float copy of the table, no lookup node):
    every row it reads is the GGUF's value."""
    path, result = built
    model = onnx.load(str(result.path / "model.q4.onnx"), load_external_data=False)
    assert not {"Gather", "GatherBlockQuantized"} & {n.op_type for n in model.graph.node}
    assert "embedding" not in {t.name for t in model.graph.initializer}
    folder = ModelFolder.open(result.path)
    entry = EmbeddingTableEntry.from_json(folder.variants["q4"]["embedding"])
    table = EmbeddingTable(folder.path, entry)
    rows = table.lookup(np.arange(entry.rows)[None])[0]
    table.close()
    t = next(t for t in gguf.GGUFReader(path).tensors if t.name == "token_embd.weight")
    expected = reference(t.data, t.tensor_type, int(t.shape[1]), int(t.shape[0]))
    assert same_bits(rows.reshape(expected.shape), expected)


# -- float files get a real 4-bit variant ---------------------------------------------------
def test_float_gguf_gets_a_real_4bit_variant(tmp_path: Path) -> None:
    path = write_tiny_gguf(tmp_path / "f16.gguf", linear_type=Q.F16, embedding_type=Q.F32, seed=2)
    result = build(path, cache_root=tmp_path / "cache")
    assert result.report.results["q4_vs_float_top1_agreement"] >= 0.88
    q4 = result.path / "model.q4.onnx"
    decoded = matmul_nbits_weights(q4)
    assert {n: w.shape for n, w in decoded.items()} == {
        n: w.shape for n, w in gguf_reference(path).items()
    }
    bits = sorted(
        onnx.helper.get_attribute_value(a)
        for n in onnx.load(str(q4)).graph.node
        if n.op_type == "MatMulNBits"
        for a in n.attribute
        if a.name == "bits"
    )
    assert bits == [4] * 8 + [8]  # every linear weight 4-bit; the tied head is Q8_0
    folder = ModelFolder.open(result.path)
    assert folder.variant_bytes("q4") < folder.variant_bytes("fp32") / 2.5


# -- refused by name ---------------------------------------------------------------------------
@pytest.mark.parametrize("qtype", [Q.IQ4_NL, Q.Q2_K, Q.Q3_K, Q.BF16], ids=lambda t: t.name)
def test_unsupported_type_is_refused_by_name_with_the_supported_list(
    tmp_path: Path, qtype: Q, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.gguf"
    size, nbytes = gguf.GGML_QUANT_SIZES[qtype]
    writer_types = {"blk.1.ffn_up.weight": qtype}

    def type_of(name: str) -> Q | None:
        return writer_types.get(name)

    # The gguf package cannot quantize these: write well-formed random blocks instead.
    import tests.kquant_blocks as blocks

    quantize_any_type = blocks.quantize_any

    def raw_blocks(values: np.ndarray, q: Q) -> np.ndarray:
        if q != qtype:
            return quantize_any_type(values, q)
        rows, cols = values.shape
        return np.zeros((rows, cols // size * nbytes), np.uint8)

    monkeypatch.setattr(blocks, "quantize_any", raw_blocks)
    write_tiny_gguf(path, intermediate=256, hidden=256, heads=4, type_of=type_of)
    monkeypatch.undo()
    with pytest.raises(BuildError) as error:
        build(path, cache_root=tmp_path / "cache")
    message = str(error.value)
    assert f"blk.1.ffn_up.weight is stored as {qtype.name}" in message
    assert SUPPORTED_TYPE_NAMES in message and "Q4_K" in message and "Q6_K" in message
    assert not (tmp_path / "cache").exists() or not [
        p for p in (tmp_path / "cache").iterdir() if p.name != "sources"
    ]
