"""The embedding rows the runtime reads from the weights file (``inference/embedding_table.py``)
are exactly what onnxruntime's ``GatherBlockQuantized`` gave when the lookup was in the graph,
and a table the manifest describes wrongly is refused in plain words."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from inference.embedding_table import (
    EmbeddingTable,
    EmbeddingTableEntry,
    EmbeddingTableError,
    Span,
)
from inference.model_folder import MANIFEST_NAME, ModelFolder
from inference.runtime.errors import ModelUnavailableError
from inference.runtime.model_session import ModelSession
from inference.runtime.providers import SessionSettings

ROWS, COLS, BLOCK = 300, 64, 32


def write_table(
    folder: Path, codes: np.ndarray, scales: np.ndarray, minimum: np.ndarray | None = None
) -> EmbeddingTableEntry:
    """A weights file with some other bytes first, then the table's tensors."""
    parts = [os.urandom(1000), codes.tobytes(), os.urandom(7), scales.tobytes()]
    if minimum is not None:
        parts.append(minimum.tobytes())
    (folder / "weights.data").write_bytes(b"".join(parts))
    codes_at = 1000
    scales_at = codes_at + codes.nbytes + 7
    return EmbeddingTableEntry(
        file="weights.data",
        rows=ROWS,
        cols=COLS,
        block=BLOCK,
        codes=Span(codes_at, codes.nbytes),
        scales=Span(scales_at, scales.nbytes),
        minimum=None if minimum is None else Span(scales_at + scales.nbytes, minimum.nbytes),
    )


def random_table() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 256, (ROWS, COLS), dtype=np.uint8)
    scales = rng.uniform(-0.02, 0.02, (ROWS, COLS // BLOCK)).astype(np.float32)
    return codes, scales


def gather_block_quantized(codes: np.ndarray, scales: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The lookup as the pipeline-2 graphs did it: onnxruntime's own kernel."""
    node = helper.make_node(
        "GatherBlockQuantized",
        ["codes", "ids", "scales"],
        ["rows"],
        domain="com.microsoft",
        bits=8,
        block_size=BLOCK,
        gather_axis=0,
        quantize_axis=1,
    )
    graph = helper.make_graph(
        [node],
        "lookup",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, list(ids.shape))],
        [helper.make_tensor_value_info("rows", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(codes, "codes"), numpy_helper.from_array(scales, "scales")],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)],
        ir_version=10,
    )
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"ids": ids})[0]


@pytest.mark.parametrize("fallback", [False, True], ids=["pread", "seek-and-read"])
def test_rows_are_exactly_what_gather_block_quantized_gave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fallback: bool
) -> None:
    if fallback:  # the path taken where there is no os.preadv (Windows)
        monkeypatch.delattr(os, "preadv", raising=False)
    codes, scales = random_table()
    table = EmbeddingTable(tmp_path, write_table(tmp_path, codes, scales))
    ids = np.array([[5, 0, 5, ROWS - 1, 17, 17, 128]], np.int64)  # repeats, both ends
    got = table.lookup(ids)
    assert got.shape == (1, 7, COLS) and got.dtype == np.float32
    np.testing.assert_array_equal(got, gather_block_quantized(codes, scales, ids))
    assert table.lookup(np.zeros((1, 0), np.int64)).shape == (1, 0, COLS)


def test_rows_with_block_offsets_add_them_as_the_graph_did(tmp_path: Path) -> None:
    codes, scales = random_table()
    minimum = np.random.default_rng(8).normal(0, 0.1, scales.shape).astype(np.float32)
    table = EmbeddingTable(tmp_path, write_table(tmp_path, codes, scales, minimum))
    ids = np.array([[3, 299, 3]], np.int64)
    blocks = (codes[ids[0]].reshape(3, -1, BLOCK).astype(np.float32) - 128) * scales[ids[0]][
        ..., None
    ]
    expected = (blocks + minimum[ids[0]][..., None]).reshape(1, 3, COLS)
    np.testing.assert_array_equal(table.lookup(ids), expected)


def test_ids_outside_the_table_are_refused(tmp_path: Path) -> None:
    table = EmbeddingTable(tmp_path, write_table(tmp_path, *random_table()))
    for bad in ([[ROWS]], [[-1]]):
        with pytest.raises(IndexError):
            table.lookup(np.array(bad, np.int64))


def test_a_wrong_description_is_refused(tmp_path: Path) -> None:
    entry = write_table(tmp_path, *random_table()).to_json()
    assert EmbeddingTableEntry.from_json(entry).to_json() == entry
    for broken in (
        {k: v for k, v in entry.items() if k != "codes"},
        {**entry, "rows": ROWS + 1},  # sizes no longer fit the shape
        {**entry, "cols": 50},  # not whole blocks
        {**entry, "file": "../elsewhere.data"},
        {**entry, "scales": "here"},
    ):
        with pytest.raises(EmbeddingTableError):
            EmbeddingTableEntry.from_json(broken)
    short = EmbeddingTableEntry.from_json({**entry, "codes": [10**6, ROWS * COLS]})
    with pytest.raises(EmbeddingTableError, match="shorter"):
        EmbeddingTable(tmp_path, short)


def test_a_model_whose_manifest_lacks_the_table_is_refused_plainly(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))
    manifest = json.loads((copy / MANIFEST_NAME).read_text(encoding="utf-8"))
    del manifest["variants"]["q4"]["embedding"]
    (copy / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelUnavailableError, match=r"embedding table.*draftsmith-model build"):
        ModelSession.load(ModelFolder.open(copy), SessionSettings(device="cpu", threads=1), "q4")


@pytest.mark.parametrize("variant", ["q4", "fp32"])
def test_graphs_with_and_without_the_lookup_run_alike(tiny_model_dir: Path, variant: str) -> None:
    """``q4`` takes embeddings the session reads; ``fp32`` (like every pipeline-2 graph) takes
    token ids and looks them up itself: both give the build checks' decoder's logits."""
    from inference.export.checks import OnnxDecoder

    folder = ModelFolder.open(tiny_model_dir)
    session = ModelSession.load(folder, SessionSettings(device="cpu", threads=1), variant)
    assert (session.embedding_table is not None) == (variant == "q4")
    ids = [5, 17, 40, 3, 99, 12]
    got = session.forward(np.array([ids], np.int64), session.new_cache(growing=True))
    with OnnxDecoder(folder.variant_path(variant), folder.architecture, threads=1) as decoder:
        expected, _ = decoder.step(ids, decoder.empty_cache())
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
