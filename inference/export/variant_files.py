"""How a variant is written: its graph in ``model.<variant>.onnx``, every weight over 1 KB
in ``model.<variant>.onnx.data`` beside it, and where the manifest finds its embedding table.

The weights live beside the graph, not inside it, because onnxruntime maps that file into
memory instead of parsing a copy: a weight it repacks while loading (every 4-bit projection,
the output layer) is then never resident twice, and the 8-bit embedding table, which the
runtime reads row by row with ``pread`` (``inference/embedding_table.py``), is never resident
at all. For the default model: 264 -> 215 MB once loaded, a faster load. It also keeps a graph
under protobuf's 2 GB limit, which a 1B model's fp32 or a 3B model's q4 would pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx

from inference.embedding_table import EmbeddingTableEntry, Span
from inference.export.onnx_variants import EMBEDDING_CODES, EMBEDDING_MINIMUM, EMBEDDING_SCALES
from inference.model_folder import EMBEDDINGS_INPUT

# Smaller tensors (shapes, axes, norms of tiny test models) stay inside the graph.
INLINE_TENSOR_BYTES = 1024


def variant_file(variant: str) -> str:
    return f"model.{variant}.onnx"


def data_file(variant: str) -> str:
    return _weights_name(variant_file(variant))


def _weights_name(graph_name: str) -> str:
    return graph_name + ".data"


def save_variant(model: onnx.ModelProto, path: Path) -> None:
    """Write ``model`` to ``path`` and its weights to ``<path>.data``, tensor by tensor (the
    whole model is never serialised in one piece). Replaces both files if they exist."""
    weights = path.with_name(_weights_name(path.name))
    weights.unlink(missing_ok=True)  # onnx appends to an existing weights file
    onnx.save_model(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=weights.name,
        size_threshold=INLINE_TENSOR_BYTES,
        convert_attribute=False,
    )
    if weights.exists():  # onnx creates it private; the graph beside it is not
        weights.chmod(path.stat().st_mode & 0o777)


def embedding_table_entry(graph: Path) -> EmbeddingTableEntry | None:
    """Where a saved variant's 8-bit embedding table sits in its weights file (what the
    manifest records for the runtime), or ``None`` for a graph that looks tokens up itself."""
    model = onnx.load(str(graph), load_external_data=False)
    if EMBEDDINGS_INPUT not in {i.name for i in model.graph.input}:
        return None
    tensors = {t.name: t for t in model.graph.initializer}
    stored = {
        name: {e.key: e.value for e in tensors[name].external_data}
        for name in (EMBEDDING_CODES, EMBEDDING_SCALES, EMBEDDING_MINIMUM)
        if name in tensors
    }
    (location,) = {info["location"] for info in stored.values()}  # one weights file
    spans = {name: Span(int(i.get("offset", 0)), int(i["length"])) for name, i in stored.items()}
    rows, blocks, block = (int(d) for d in tensors[EMBEDDING_CODES].dims)
    return EmbeddingTableEntry(
        file=location,
        rows=rows,
        cols=blocks * block,
        block=block,
        codes=spans[EMBEDDING_CODES],
        scales=spans[EMBEDDING_SCALES],
        minimum=spans.get(EMBEDDING_MINIMUM),
    )


def files_entry(folder: Path, variant: str) -> dict[str, Any]:
    """The manifest's record of where a saved variant lives: its graph, its weights file and
    (pipeline 3 on) its embedding table inside that file."""
    entry: dict[str, Any] = {"file": variant_file(variant)}
    if (folder / data_file(variant)).is_file():
        entry["data"] = data_file(variant)
    table = embedding_table_entry(folder / variant_file(variant))
    if table is not None:
        entry["embedding"] = table.to_json()
    return entry
