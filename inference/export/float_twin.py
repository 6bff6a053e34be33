"""The ``q4`` variant's graph computing in float: what the build's parity check runs.

Every ``MatMulNBits`` gets accuracy level 1 (float32 activations: the GGUF blocks
dequantized, exact float math) instead of the shipped level 4 (int8 activations). onnxruntime
has a fast float kernel for 4-bit weights only; its 8-bit one is a slow reference loop
(seconds per call for a 128k-token output layer), so each 8-bit product is split exactly into
two 4-bit ones: a code q (zero point 128) is 16 * hi + lo with hi = q >> 4 and lo = q & 15, so
scale * (q - 128) = (16 * scale) * (hi - 8) + scale * (lo - 0). The shipped file is not
touched; the twin is written beside it and deleted after the check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from inference.export.onnx_fusion import MS_DOMAIN
from inference.export.onnx_variants import EMBEDDING_CODES, EMBEDDING_MINIMUM, EMBEDDING_SCALES
from inference.export.variant_files import save_variant

FLOAT_ACCURACY = 1
ROWS_AT_ONCE = 4096


def _attributes(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _codes(model: onnx.ModelProto, name: str, base_dir: Path) -> np.ndarray | None:
    """The uint8 codes of a MatMulNBits B input (an initializer), or ``None``."""
    initializers = {t.name: t for t in model.graph.initializer}
    if name not in initializers:
        return None
    return numpy_helper.to_array(initializers[name], str(base_dir))


def _halves(codes: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """8-bit codes [rows, cols] -> their high and low nibbles, each packed as MatMulNBits's
    4-bit [rows, blocks, block/2] (even element in the low nibble), a slice of rows at a
    time (no full-size temporaries)."""
    rows = codes.shape[0]
    high = np.empty((rows, codes.shape[1] // block, block // 2), np.uint8)
    low = np.empty_like(high)
    for start in range(0, rows, ROWS_AT_ONCE):
        part = codes[start : start + ROWS_AT_ONCE].reshape(-1, high.shape[1], block)
        even, odd = part[..., 0::2], part[..., 1::2]
        high[start : start + ROWS_AT_ONCE] = (even >> 4) | (odd & 0xF0)
        low[start : start + ROWS_AT_ONCE] = (even & 0x0F) | ((odd & 0x0F) << 4)
    return high, low


def _split_8bit(
    model: onnx.ModelProto, node: onnx.NodeProto, base_dir: Path
) -> list[onnx.NodeProto] | None:
    """Nodes computing ``node`` (8-bit, default zero point) as two 4-bit products, or None."""
    attributes = _attributes(node)
    if attributes.get("bits") != 8 or len(node.input) > 3:
        return None
    codes = _codes(model, node.input[1], base_dir)
    if codes is None:
        return None
    rows, block = int(attributes["N"]), int(attributes["block_size"])
    codes = codes.reshape(rows, -1)
    blocks = codes.shape[1] // block
    prefix = f"float_twin.{node.name or node.output[0]}"
    high, low = _halves(codes, block)
    del codes
    model.graph.initializer.extend(
        [
            numpy_helper.from_array(high, f"{prefix}.high"),
            numpy_helper.from_array(low, f"{prefix}.low"),
            numpy_helper.from_array(
                np.zeros(rows * ((blocks + 1) // 2), np.uint8), f"{prefix}.low_zero"
            ),
            numpy_helper.from_array(np.array(16.0, np.float32), f"{prefix}.sixteen"),
        ]
    )
    del high, low
    common = {k: v for k, v in attributes.items() if k not in ("bits", "accuracy_level")}
    product = node.output[0]
    return [
        helper.make_node("Mul", [node.input[2], f"{prefix}.sixteen"], [f"{prefix}.scale16"]),
        helper.make_node(
            "MatMulNBits",
            [node.input[0], f"{prefix}.high", f"{prefix}.scale16"],
            [f"{prefix}.high_product"],
            domain=MS_DOMAIN,
            bits=4,
            accuracy_level=FLOAT_ACCURACY,
            **common,
        ),
        helper.make_node(
            "MatMulNBits",
            [node.input[0], f"{prefix}.low", node.input[2], f"{prefix}.low_zero"],
            [f"{prefix}.low_product"],
            domain=MS_DOMAIN,
            bits=4,
            accuracy_level=FLOAT_ACCURACY,
            **common,
        ),
        helper.make_node("Add", [f"{prefix}.high_product", f"{prefix}.low_product"], [product]),
    ]


def write_float_twin(path: Path, twin: Path) -> None:
    """Write ``path``'s float twin to ``twin`` (weights in ``twin``.data, tensor by tensor;
    weights the original keeps in its own ``.data`` file are read one tensor at a time)."""
    model = onnx.load(str(path), load_external_data=False)
    nodes: list[onnx.NodeProto] = []
    for node in model.graph.node:
        if node.op_type != "MatMulNBits":
            nodes.append(node)
            continue
        split = _split_8bit(model, node, path.parent)
        if split is None:
            for attribute in node.attribute:
                if attribute.name == "accuracy_level":
                    attribute.i = FLOAT_ACCURACY
            nodes.append(node)
        else:
            nodes.extend(split)
    model.graph.ClearField("node")
    model.graph.node.extend(nodes)
    # The embedding table stays for the lookup (its tied output layer is split above).
    used = {name for node in nodes for name in node.input} | {o.name for o in model.graph.output}
    used |= {EMBEDDING_CODES, EMBEDDING_SCALES, EMBEDDING_MINIMUM}
    initializers = model.graph.initializer
    for index in reversed(range(len(initializers))):
        if initializers[index].name not in used:
            del initializers[index]  # in place: the other tensors are not copied
    save_variant(model, twin)
