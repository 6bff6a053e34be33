"""Puts real weights into the fused graph, one variant at a time.

``fp32``: every weight dequantized to float32 (the reference the build's checks compare to).
``q4``: linear weights keep the GGUF's own blocks, value for value. Q4_0 and Q4_K (32-wide
sub-blocks, scale d*sc) map onto 4-bit MatMulNBits; Q8_0, Q5_0, Q5_1, Q5_K and Q6_K onto
8-bit MatMulNBits, their 5- and 6-bit codes re-centred around 128 (Q6_K with its 16-wide
sub-blocks as block size 16). Types with a per-block offset (Q4_1, Q5_1: w = d*q + m;
Q4_K, Q5_K: w = d*sc*q - dmin*m) get zero point 0 plus a small exact correction, sum over
blocks of offset * sum(x in block), because MatMulNBits's fast int8 kernels take integer
zero points only and offset/scale is rarely an integer. An 8-bit embedding (Q8_0, Q5_0,
Q6_K) is looked up by the runtime, which reads its rows from the weights file
(``inference/embedding_table.py``; the graph takes ``inputs_embeds``), and, tied, read by an
8-bit MatMulNBits LM head: one copy of the bytes, no second quantization anywhere.

Float weights (an F16/F32 GGUF, or float tensors in a mixed file) are quantized here, so
the ``q4`` variant of a float file is a real 4-bit model: linear weights to 4-bit blocks of
32 with a scale and an offset (Q4_1's form, the pair fitted by least squares rather than
taken from the block's min and max), the embedding and LM head to Q8_0."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import onnx
from gguf import GGMLQuantizationType
from gguf.quants import quantize
from onnx import TensorProto, helper

from inference.export.gguf_source import BLOCK, BlockWeight, unpack_blocks
from inference.export.onnx_fusion import MS_DOMAIN
from inference.export.onnx_graph import GraphEditor
from inference.export.weights import GGUFWeights
from inference.model_folder import EMBEDDINGS_INPUT

log = logging.getLogger(__name__)

VARIANTS = ("q4", "fp32")
ACCURACY_LEVEL = 4  # int8 activations, as llama.cpp does


FLOAT_TABLE_TYPE = GGMLQuantizationType.Q8_0
# The 8-bit embedding table's tensors (inference/embedding_table.py reads their bytes).
EMBEDDING_CODES = "embedding.q"
EMBEDDING_SCALES = "embedding.scale"
EMBEDDING_MINIMUM = "embedding.minimum"
FIT_ROUNDS = 4


def quantize_4bit(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[rows, cols] floats -> (codes 0..15, scale, offset per 32-wide block) with
    w ~= scale*code + offset: codes from the block's range, then scale and offset refitted
    by least squares and the codes re-chosen, a few rounds (lower error than min/max)."""
    rows, cols = values.shape
    x = values.reshape(rows, cols // BLOCK, BLOCK).astype(np.float64)
    low, high = x.min(-1, keepdims=True), x.max(-1, keepdims=True)
    scale = np.where(high > low, (high - low) / 15, 1.0)
    offset = low
    for _ in range(FIT_ROUNDS):
        q = np.clip(np.round((x - offset) / scale), 0, 15)
        n, sq, sx = BLOCK, q.sum(-1, keepdims=True), x.sum(-1, keepdims=True)
        sqq, sqx = (q * q).sum(-1, keepdims=True), (q * x).sum(-1, keepdims=True)
        det = n * sqq - sq * sq
        fitted = (n * sqx - sq * sx) / np.where(det > 0, det, 1.0)
        better = (det > 0) & (fitted > 0)
        scale = np.where(better, fitted, scale)
        offset = np.where(better, (sx - scale * sq) / n, offset)
    q = np.clip(np.round((x - offset) / scale), 0, 15).astype(np.uint8)
    flat = high == low  # a constant block: code 0, offset = the value
    scale, offset = np.where(flat, 0.0, scale), np.where(flat, low, offset)
    return (
        q.reshape(rows, cols),
        scale[..., 0].astype(np.float32),
        offset[..., 0].astype(np.float32),
    )


def quantize_float(weight: BlockWeight, table: bool = False) -> BlockWeight:
    """A float weight in blocks: 4-bit with an offset, or Q8_0 for a ``table`` (embedding,
    LM head). A weight already in blocks, or too narrow for them, is returned as it is."""
    if weight.is_block_quantized or weight.cols % BLOCK:
        return weight
    assert weight.dense is not None
    dense = np.asarray(weight.dense, np.float32)
    if table:
        raw = quantize(dense, FLOAT_TABLE_TYPE)
        return unpack_blocks(raw, FLOAT_TABLE_TYPE, weight.rows, weight.cols)
    q, scale, offset = quantize_4bit(dense)
    return BlockWeight(weight.qtype, weight.rows, weight.cols, q=q, scale=scale, minimum=offset)


def _gatherable(weight: BlockWeight) -> bool:
    """Whether the lookup (codes around 128, as GatherBlockQuantized reads them) can read the
    weight's bytes as they are."""
    return weight.bits == 8 and weight.zero == 128 and weight.minimum is None


def _pack_nibbles(codes: np.ndarray, block: int) -> np.ndarray:
    """[rows, cols] 4-bit codes -> MatMulNBits's [rows, blocks, block/2] (even element low)."""
    rows = codes.shape[0]
    blocks = codes.reshape(rows, -1, block).astype(np.uint8)
    return (blocks[..., 0::2] | (blocks[..., 1::2] << 4)).astype(np.uint8)


def _zero_points(weight: BlockWeight) -> np.ndarray:
    """Integer zero points, one per block (packed two per byte at 4 bits, rows padded)."""
    blocks = weight.cols // weight.block
    zeros = np.full((weight.rows, blocks), weight.zero, np.uint8)
    if weight.bits == 8:
        return zeros.reshape(-1)
    if blocks % 2:
        zeros = np.concatenate([zeros, np.zeros((weight.rows, 1), np.uint8)], axis=1)
    return (zeros[:, 0::2] | (zeros[:, 1::2] << 4)).reshape(-1)


class VariantBuilder:
    def __init__(self, fused: onnx.ModelProto, weights: GGUFWeights, variant: str) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}")
        self.model = onnx.ModelProto()
        self.model.CopyFrom(fused)
        self.editor = GraphEditor(self.model)
        self.weights = weights
        self.variant = variant
        self._block_sums: dict[tuple[str, int], str] = {}
        # The 8-bit table the runtime reads rows from (kept even where no node uses it).
        self._lookup_tables: dict[str, np.ndarray] = {}

    def build(self) -> onnx.ModelProto:
        handlers: dict[str, Callable[[onnx.NodeProto], None]] = {
            "SimplifiedLayerNormalization": self._norm,
            "SkipSimplifiedLayerNormalization": self._norm,
            "MatMul": self._matmul,
            "Gather": self._gather,
            "Add": self._bias,
        }
        weight_names = set(self.editor.initializers)
        for node in list(self.editor.graph.node):
            handler = handlers.get(node.op_type)
            if handler and any(i in weight_names for i in node.input):
                handler(node)
        self.editor.prune()
        for name, array in self._lookup_tables.items():
            self.editor.add_initializer(name, array)
        self.editor.toposort()
        return self.model

    # -- weights ---------------------------------------------------------------------
    def _norm(self, node: onnx.NodeProto) -> None:
        scale = node.input[-1]  # SkipSimplified...: (input, skip, gamma); Simplified...: (x, scale)
        self.editor.add_initializer(scale, self.weights.vector(scale))

    def _bias(self, node: onnx.NodeProto) -> None:
        """The packed Q/K/V bias (qwen2), float in every variant."""
        for name in node.input:
            if name.endswith(".attention.qkv_bias"):
                self.editor.add_initializer(name, self.weights.vector(name))

    def _table(self) -> BlockWeight:
        """The embedding as the runtime's lookup reads it: 8-bit codes around 128, plus the
        per-block offset where the type has one (Q4_K: its 4-bit codes widened, exactly)."""
        table = self.weights.matrix("embedding")
        if self.variant != "q4":
            return BlockWeight(table.qtype, table.rows, table.cols, dense=table.to_float())
        table = quantize_float(table, table=True)
        if table.is_block_quantized and not _gatherable(table):
            table = table.widened(8, table.block, table.minimum is not None)
        return table

    def _gather(self, node: onnx.NodeProto) -> None:
        table = self._table()
        if not table.is_block_quantized or node.input[0] != "embedding":
            self.editor.add_initializer(node.input[0], table.to_float())
            return
        # The lookup leaves the graph: the runtime reads the rows from the weights file
        # (inference/embedding_table.py) and feeds them as EMBEDDINGS_INPUT.
        assert table.q is not None and table.scale is not None
        self._lookup_tables = {
            EMBEDDING_CODES: table.q.reshape(table.rows, table.cols // table.block, table.block),
            EMBEDDING_SCALES: table.scale.reshape(-1),
        }
        if table.minimum is not None:
            self._lookup_tables[EMBEDDING_MINIMUM] = table.minimum
        self.editor.remove_nodes([node])
        self.editor.rename_tensor(node.output[0], EMBEDDINGS_INPUT)
        self.editor.graph.input.insert(
            0,
            helper.make_tensor_value_info(
                EMBEDDINGS_INPUT, TensorProto.FLOAT, ["batch", "sequence", table.cols]
            ),
        )

    def _matmul(self, node: onnx.NodeProto) -> None:
        name = node.input[1]
        if name == "embedding.T":
            self._tied_head(node)
            return
        weight = self.weights.matrix(name)
        if self.variant == "q4":
            weight = quantize_float(weight, table=name == "lm_head")
        if self.variant == "fp32" or not weight.is_block_quantized:
            self.editor.add_initializer(name, np.ascontiguousarray(weight.to_float().T))
            return
        self.editor.remove_initializer(name)
        self._matmul_nbits(node, name, weight, weight_inputs=None)

    def _tied_head(self, node: onnx.NodeProto) -> None:
        embedding = self._table()
        self.editor.remove_initializer("embedding.T")
        if embedding.is_block_quantized:
            # The lookup's own bytes, already in MatMulNBits's layout: one copy on disk.
            self._matmul_nbits(
                node, "lm_head", embedding, weight_inputs=(EMBEDDING_CODES, EMBEDDING_SCALES)
            )
            return
        # Float: one embedding table serves the lookup and, transposed inside Gemm, the head
        # (the Gather put it in already: a second copy would cost a vocab x hidden float).
        if "embedding" not in self.editor.initializers:
            self.editor.add_initializer("embedding", embedding.to_float())
        hidden = embedding.cols
        shape2d = self.editor.add_initializer("lm_head.in_shape", np.array([-1, hidden], np.int64))
        flat = self.editor.add_node("Reshape", [node.input[0], shape2d]).output[0]
        logits2d = self.editor.add_node("Gemm", [flat, "embedding"], transB=1).output[0]
        # [batch, rows] of the head's input (rows: the graph's logit_rows), then the vocab.
        rows_shape = self.editor.add_node("Shape", [node.input[0]], start=0, end=2).output[0]
        vocab = self.editor.add_initializer("lm_head.vocab", np.array([embedding.rows], np.int64))
        shape3d = self.editor.add_node("Concat", [rows_shape, vocab], axis=0).output[0]
        self.editor.remove_nodes([node])
        self.editor.add_node("Reshape", [logits2d, shape3d], list(node.output), name=node.name)

    def _matmul_nbits(
        self,
        node: onnx.NodeProto,
        name: str,
        weight: BlockWeight,
        weight_inputs: tuple[str, str] | None,
    ) -> None:
        """Replace ``node`` (x @ W) by MatMulNBits over ``weight``'s own blocks."""
        assert weight.q is not None and weight.scale is not None
        if weight_inputs is None:
            codes = weight.q if weight.bits == 8 else _pack_nibbles(weight.q, weight.block)
            b = self.editor.add_initializer(
                f"{name}.q", codes.reshape(weight.rows, weight.cols // weight.block, -1)
            )
            s = self.editor.add_initializer(f"{name}.scale", weight.scale.reshape(-1))
        else:
            b, s = weight_inputs
        inputs = [node.input[0], b, s]
        default_zero = 1 << (weight.bits - 1)
        if weight.zero != default_zero:
            inputs.append(self.editor.add_initializer(f"{name}.zero", _zero_points(weight)))
        self.editor.remove_nodes([node])
        product = node.output[0] if weight.minimum is None else node.output[0] + ".scaled"
        self.editor.add_node(
            "MatMulNBits",
            inputs,
            [product],
            domain=MS_DOMAIN,
            name=node.name,
            K=weight.cols,
            N=weight.rows,
            bits=weight.bits,
            block_size=weight.block,
            accuracy_level=ACCURACY_LEVEL,
        )
        if weight.minimum is not None:
            minimum_t = self.editor.add_initializer(
                f"{name}.minimum", np.ascontiguousarray(weight.minimum.T)
            )
            offset = self.editor.add_node(
                "MatMul", [self._block_sum(node.input[0], weight.cols, weight.block), minimum_t]
            ).output[0]
            self.editor.add_node("Add", [product, offset], [node.output[0]])

    def _block_sum(self, tensor: str, width: int, block: int) -> str:
        """Sum of ``tensor`` over each ``block``-wide block of its last axis (shared)."""
        key = (tensor, block)
        if key not in self._block_sums:
            shape = self.editor.add_initializer(
                f"block_sum.shape.{width}.{block}",
                np.array([0, 0, width // block, block], np.int64),
            )
            axes = self.editor.add_initializer("block_sum.axes", np.array([3], np.int64))
            blocks = self.editor.add_node("Reshape", [tensor, shape]).output[0]
            self._block_sums[key] = self.editor.add_node(
                "ReduceSum", [blocks, axes], keepdims=0
            ).output[0]
        return self._block_sums[key]


def build_variant(fused: onnx.ModelProto, weights: GGUFWeights, variant: str) -> onnx.ModelProto:
    return VariantBuilder(fused, weights, variant).build()
