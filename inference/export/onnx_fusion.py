"""Rewrites tf2onnx's decoder graph into onnxruntime's fused transformer operators.

tf2onnx emits thousands of small nodes for normalisation, rotary embeddings and attention
with dynamic shapes; per decoded token those nodes, not the matrix work, dominate. Each
``rms_norm`` scope becomes one SimplifiedLayerNormalization (with the residual Add in front
of it, a SkipSimplifiedLayerNormalization), each ``attention_core`` scope plus its Q/K/V
projections becomes one packed QKV MatMul feeding onnxruntime's GroupQueryAttention (rotary
embedding, KV-cache concatenation, grouped heads and causal softmax in one kernel on CPU and
CUDA), and each ``swiglu`` scope plus its gate/up projections becomes one packed MatMul, a
Split and QuickGelu (alpha 1: x*sigmoid(x), i.e. SiLU). The LM head runs on the last
``logit_rows`` positions (an input: 1 for the next token), so a chunk of drafted tokens is
checked in one run. The build's parity checks run on the result."""

from __future__ import annotations

import logging
import re

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from inference.export.onnx_graph import GraphEditor
from inference.export.scopes import ATTENTION_SCOPE, NORM_SCOPE, SWIGLU_SCOPE
from inference.model_folder import LOGIT_ROWS_INPUT, Architecture

log = logging.getLogger(__name__)

MS_DOMAIN = "com.microsoft"
TO_THE_END = 2**31 - 1  # how tf2onnx writes a slice that runs to the end of an axis
_PAST = re.compile(r"past_(keys|values)_(\d+)")


class FusionError(Exception):
    """The converted graph does not have the shape the rewrite expects."""


def _scopes(editor: GraphEditor, scope: str) -> dict[str, list[onnx.NodeProto]]:
    groups: dict[str, list[onnx.NodeProto]] = {}
    marker = f"/{scope}/"
    for node in editor.graph.node:
        at = node.name.find(marker)
        if at >= 0:
            groups.setdefault(node.name[: at + len(marker)], []).append(node)
    return groups


def _boundary(
    editor: GraphEditor, nodes: list[onnx.NodeProto], doomed: frozenset[str] = frozenset()
) -> tuple[list[str], list[str]]:
    """Non-constant tensors entering and tensors leaving a group of nodes. Consumers in
    ``doomed`` (nodes about to be replaced too) do not count: tf2onnx merges identical
    shape computations across layers, so one layer's scope may feed another's."""
    produced = {o for n in nodes for o in n.output}
    inits = editor.initializers
    inside = {n.name for n in nodes} | doomed
    inputs = []
    for node in nodes:
        for name in node.input:
            if name and name not in produced and name not in inits and name not in inputs:
                inputs.append(name)
    consumers = editor.consumers()
    outputs = [
        t
        for t in produced
        if t in editor.output_names or any(c.name not in inside for c in consumers.get(t, []))
    ]
    return inputs, outputs


def name_io(editor: GraphEditor, bindings: dict[str, str]) -> None:
    """Weights get their model names; cache inputs get the conventional names."""
    for old, new in bindings.items():
        editor.rename_tensor(old, new)
    for value in list(editor.graph.input):
        match = _PAST.fullmatch(value.name)
        if match:
            kind = "key" if match[1] == "keys" else "value"
            editor.rename_tensor(value.name, f"past_key_values.{match[2]}.{kind}")


def fuse_norms(editor: GraphEditor, cfg: Architecture) -> int:
    weights = set(editor.initializers)
    count = 0
    for prefix, nodes in _scopes(editor, NORM_SCOPE).items():
        inputs, outputs = _boundary(editor, nodes)
        scale = [i for n in nodes for i in n.input if i in weights and i.endswith(".weight")]
        if len(inputs) != 1 or len(outputs) != 1 or len(set(scale)) != 1:
            raise FusionError(f"unexpected normalisation graph at {prefix}")
        editor.remove_nodes(nodes)
        editor.add_node(
            "SimplifiedLayerNormalization",
            [inputs[0], scale[0]],
            outputs,
            name=prefix.removesuffix(f"{NORM_SCOPE}/") + "SimplifiedLayerNormalization",
            axis=-1,
            epsilon=cfg.rms_norm_eps,
            stash_type=1,
        )
        count += 1
    return count


def fuse_swiglu(editor: GraphEditor) -> int:
    """gate and up projections -> one packed MatMul, Split, QuickGelu (x*sigmoid(x)), Mul."""
    producers = editor.producers()
    count = 0
    for prefix, nodes in _scopes(editor, SWIGLU_SCOPE).items():
        inputs, outputs = _boundary(editor, nodes)
        projections = {}
        for tensor in inputs:
            node = producers.get(tensor)
            if node is not None and node.op_type == "MatMul":
                projections[node.input[1].rsplit(".", 1)[-1]] = node
        if set(projections) != {"gate_proj", "up_proj"} or len(outputs) != 1:
            raise FusionError(f"unexpected gated activation at {prefix}")
        hidden = projections["gate_proj"].input[0]
        layer = projections["gate_proj"].input[1].split(".", 1)[0]
        packed_weight = f"{layer}.mlp.gate_up_proj"
        editor.add_initializer(packed_weight, np.zeros((1, 1), np.float32))  # bound later
        editor.remove_nodes([*nodes, *projections.values()])
        packed = editor.add_node(
            "MatMul", [hidden, packed_weight], name=f"{layer}/mlp/gate_up_proj"
        ).output[0]
        gate, up = f"{layer}/mlp/gate:0", f"{layer}/mlp/up:0"
        editor.add_node("Split", [packed], [gate, up], axis=-1, name=f"{layer}/mlp/Split")
        activated = editor.add_node(
            "QuickGelu", [gate], domain=MS_DOMAIN, alpha=1.0, name=f"{layer}/mlp/SiLU"
        ).output[0]
        editor.add_node("Mul", [activated, up], outputs, name=f"{layer}/mlp/gated")
        count += 1
    return count


def fuse_skip_norms(editor: GraphEditor) -> int:
    """Residual Add feeding a normalisation -> one SkipSimplifiedLayerNormalization that
    also returns the sum for the next residual connection."""
    producers = editor.producers()
    inits = editor.initializers
    count = 0
    for norm in list(editor.graph.node):
        if norm.op_type != "SimplifiedLayerNormalization":
            continue
        add = producers.get(norm.input[0])
        if add is None or add.op_type != "Add" or any(i in inits for i in add.input):
            continue
        epsilon = next(a.f for a in norm.attribute if a.name == "epsilon")
        editor.remove_nodes([add, norm])
        editor.add_node(
            "SkipSimplifiedLayerNormalization",
            [add.input[0], add.input[1], norm.input[1]],
            [norm.output[0], "", "", add.output[0]],
            domain=MS_DOMAIN,
            name=norm.name.replace(
                "SimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization"
            ),
            epsilon=epsilon,
        )
        count += 1
    return count


def _rotary_cache(cfg: Architecture, positions: int) -> tuple[np.ndarray, np.ndarray]:
    half = np.arange(0, cfg.head_dim, 2, dtype=np.float64) / cfg.head_dim
    inv_freq = 1.0 / cfg.rope_theta**half
    if cfg.rope_freq_factors is not None:  # Llama 3's rope_freqs (see keras_llama.py)
        inv_freq = inv_freq / np.asarray(cfg.rope_freq_factors, np.float64)
    angles = np.arange(positions, dtype=np.float64)[:, None] * inv_freq[None]
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def fuse_attention(editor: GraphEditor, cfg: Architecture, context_length: int) -> int:
    producers = editor.producers()
    cos, sin = _rotary_cache(cfg, context_length)
    editor.add_initializer("rotary.cos_cache", cos)
    editor.add_initializer("rotary.sin_cache", sin)
    # GroupQueryAttention reads sequence lengths rather than a mask (batch rows are
    # right-padded or unpadded): seqlens_k = valid tokens - 1, and the total length.
    mask_sum = editor.add_node(
        "ReduceSum",
        ["attention_mask", editor.add_initializer("attention.sum_axes", np.array([1], np.int64))],
        keepdims=0,
    ).output[0]
    minus_one = editor.add_node(
        "Sub", [mask_sum, editor.add_initializer("attention.one", np.array(1, np.int64))]
    ).output[0]
    seqlens = editor.add_node("Cast", [minus_one], to=TensorProto.INT32).output[0]
    mask_shape = editor.add_node("Shape", ["attention_mask"], start=1, end=2).output[0]
    total = editor.add_node("Cast", [mask_shape], to=TensorProto.INT32).output[0]

    count = 0
    scopes = _scopes(editor, ATTENTION_SCOPE)
    doomed = frozenset(n.name for nodes in scopes.values() for n in nodes)
    for prefix, nodes in scopes.items():
        inputs, outputs = _boundary(editor, nodes, doomed)
        projections = {}
        bias_adds = []
        for tensor in inputs:
            node = producers.get(tensor)
            if node is not None and node.op_type == "Add" and cfg.attention_bias:
                # qwen2: x @ W + b; the packed bias is bound later
                inner = [producers[i] for i in node.input if i in producers]
                if len(inner) == 1 and inner[0].op_type == "MatMul":
                    bias_adds.append(node)
                    node = inner[0]
            if node is not None and node.op_type == "MatMul":
                projections[node.input[1].rsplit(".", 1)[-1]] = node
        if set(projections) != {"q_proj", "k_proj", "v_proj"}:
            raise FusionError(f"attention at {prefix} is not fed by q/k/v projections")
        if cfg.attention_bias and len(bias_adds) != 3:
            raise FusionError(f"attention at {prefix} lacks its q/k/v biases")
        layer = projections["q_proj"].input[1].split(".", 1)[0]  # "layer_3"
        index = layer.removeprefix("layer_")
        hidden = projections["q_proj"].input[0]
        if any(p.input[0] != hidden for p in projections.values()):
            raise FusionError(f"q/k/v projections at {prefix} do not share their input")
        present_key, present_value = f"present.{index}.key", f"present.{index}.value"
        attended = [o for o in outputs if o not in (present_key, present_value)]
        if len(attended) != 1 or {present_key, present_value} - set(outputs):
            raise FusionError(f"unexpected attention outputs at {prefix}: {outputs}")

        packed_weight = f"{layer}.attention.qkv_proj"
        editor.add_initializer(packed_weight, np.zeros((1, 1), np.float32))  # bound later
        packed = editor.add_node(
            "MatMul", [hidden, packed_weight], name=f"{layer}/attention/qkv_proj"
        ).output[0]
        if cfg.attention_bias:
            packed_bias = editor.add_initializer(
                f"{layer}.attention.qkv_bias",
                np.zeros(1, np.float32),  # bound later
            )
            packed = editor.add_node(
                "Add", [packed, packed_bias], name=f"{layer}/attention/qkv_bias"
            ).output[0]
        editor.remove_nodes([*nodes, *projections.values(), *bias_adds])
        editor.add_node(
            "GroupQueryAttention",
            [
                packed,
                "",
                "",
                f"past_key_values.{index}.key",
                f"past_key_values.{index}.value",
                seqlens,
                total,
                "rotary.cos_cache",
                "rotary.sin_cache",
                "position_ids",
            ],
            [attended[0], present_key, present_value],
            domain=MS_DOMAIN,
            name=f"{layer}/attention/GroupQueryAttention",
            num_heads=cfg.num_heads,
            kv_num_heads=cfg.num_kv_heads,
            do_rotary=1,
            rotary_interleaved=0,
            scale=cfg.head_dim**-0.5,
            local_window_size=-1,
        )
        count += 1
    return count


def set_io_shapes(editor: GraphEditor, cfg: Architecture) -> None:
    """Symbolic shapes with real sizes (the converted proxy declared tiny ones)."""
    cache: list[str | int] = ["batch", cfg.num_kv_heads, "past_sequence", cfg.head_dim]
    shapes: dict[str, list[str | int]] = {
        "input_ids": ["batch", "sequence"],
        "attention_mask": ["batch", "total_sequence"],
        "position_ids": ["batch", "sequence"],
        "logits": ["batch", LOGIT_ROWS_INPUT, cfg.vocab_size],
        LOGIT_ROWS_INPUT: [1],
    }
    for value in [*editor.graph.input, *editor.graph.output]:
        dims: list[str | int]
        if value.name.startswith("past_key_values."):
            dims = cache
        elif value.name.startswith("present."):
            dims = ["batch", cfg.num_kv_heads, "total_sequence", cfg.head_dim]
        else:
            dims = shapes[value.name]
        elem = value.type.tensor_type.elem_type
        value.CopyFrom(helper.make_tensor_value_info(value.name, elem, dims))
    del editor.graph.value_info[:]
    # tf2onnx orders the cache by name (present.10 before present.2); use layer order.
    for values in (editor.graph.input, editor.graph.output):
        ordered = sorted(values, key=_io_order)
        del values[:]
        values.extend(ordered)


def _io_order(value: onnx.ValueInfoProto) -> tuple[int, int, str]:
    fixed = ("input_ids", "attention_mask", "position_ids", "logits")
    if value.name in fixed:
        return (fixed.index(value.name), 0, "")
    if value.name == LOGIT_ROWS_INPUT:  # after the cache: older callers index the cache from 3
        return (len(fixed) + 1, 0, "")
    _, layer, kind = value.name.rsplit(".", 2)
    return (len(fixed), int(layer), kind)


def expose_logit_rows(editor: GraphEditor) -> None:
    """The converted graph keeps the last position (``x[:, -1:]``) before the final norm;
    its start on the sequence axis becomes ``-logit_rows``, an input: 1 gives the next
    token's logits, n the logits after each of the last n tokens (a checked draft)."""
    slices = [n for n in editor.graph.node if n.op_type == "Slice"]
    if len(slices) != 1:
        raise FusionError(f"expected the last-position slice alone, found {len(slices)} slices")
    last = slices[0]
    inits = editor.initializers
    parts = [inits.get(name) for name in last.input[1:4]]
    if len(last.input) < 4 or any(p is None for p in parts):
        raise FusionError("the last-position slice has computed bounds")
    starts, ends, axes = (numpy_helper.to_array(p).tolist() for p in parts)  # type: ignore[arg-type]
    # x[:, -1:, :] as tf2onnx writes it: every axis listed, only the sequence axis cut.
    kept = {axis: (start, end) for axis, start, end in zip(axes, starts, ends, strict=True)}
    if kept.pop(1, None) != (-1, TO_THE_END) or any(v != (0, TO_THE_END) for v in kept.values()):
        raise FusionError("the graph does not keep the last position before the LM head")
    editor.graph.input.append(
        helper.make_tensor_value_info(LOGIT_ROWS_INPUT, TensorProto.INT64, [1])
    )
    rows_start = editor.add_node("Neg", [LOGIT_ROWS_INPUT]).output[0]
    end = editor.add_initializer(editor.unique("logit_rows.end"), np.array([TO_THE_END], np.int64))
    axis = editor.add_initializer(editor.unique("logit_rows.axis"), np.array([1], np.int64))
    del last.input[1:]
    last.input.extend([rows_start, end, axis])


def fuse(
    model: onnx.ModelProto, bindings: dict[str, str], cfg: Architecture, context_length: int
) -> onnx.ModelProto:
    editor = GraphEditor(model)
    name_io(editor, bindings)
    norms = fuse_norms(editor, cfg)
    attentions = fuse_attention(editor, cfg, context_length)
    activations = fuse_swiglu(editor)
    if norms != 2 * cfg.num_layers + 1 or not attentions == activations == cfg.num_layers:
        raise FusionError(
            f"fused {norms} norms, {attentions} attention blocks and "
            f"{activations} activations for {cfg.num_layers} layers"
        )
    fuse_skip_norms(editor)
    editor.prune()
    expose_logit_rows(editor)
    editor.prune()  # the slice's old start
    set_io_shapes(editor, cfg)
    editor.toposort()
    scopes = (f"/{ATTENTION_SCOPE}/", f"/{NORM_SCOPE}/", f"/{SWIGLU_SCOPE}/")
    leftovers = [n.name for n in editor.graph.node if any(s in n.name for s in scopes)]
    if leftovers:
        raise FusionError(f"nodes left from fused scopes: {leftovers[:3]}")
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    return model
