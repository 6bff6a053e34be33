"""tf2onnx conversion of the Keras decoder.

The real model is never handed to tf2onnx: converting 135M float weights in one call takes
minutes and more than 20 GB. Instead a *proxy* with the same layers and heads but tiny,
distinct random weights is converted (seconds, a few hundred MB), and every ONNX
initializer that holds a proxy weight is recognised by its bytes so the rewrite step can put
the real tensors in its place."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx
from onnx import numpy_helper

from inference.export.keras_llama import LlamaDecoder, build_model, cache_signature, weight_map
from inference.model_folder import Architecture

log = logging.getLogger(__name__)

OPSET = 17
TRANSPOSED = ".T"  # suffix of a weight that tf2onnx stored transposed (the tied LM head)


def proxy_architecture(cfg: Architecture) -> Architecture:
    """Same depth and head layout, tiny widths. Anything derived from widths inside the
    fused scopes is replaced by the rewrite, so the proxy's values never reach the model."""
    head_dim = 2
    return dataclasses.replace(
        cfg,
        hidden_size=cfg.num_heads * head_dim,
        head_dim=head_dim,
        intermediate_size=4,
        vocab_size=8,
        rope_freq_factors=None,  # the rotary tables are the fused graph's, from ``cfg``
    )


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, np.float32).tobytes()).hexdigest()


def convert_model(model: LlamaDecoder) -> tuple[onnx.ModelProto, dict[str, str]]:
    """Convert a decoder with its current weights; returns the ONNX model and a map from
    initializer names to weight names (``layer_0.attention.q_proj``, ``embedding.T``...)."""
    signature = cache_signature(model.cfg)

    # autograph=False: the body has no tensor-dependent Python control flow to convert, and
    # AutoGraph would leave its generated module's byte-code in $TMPDIR after every build.
    @tf.function(input_signature=signature, autograph=False)
    def decoder(input_ids, attention_mask, position_ids, past_keys, past_values):
        logits, presents = model(input_ids, attention_mask, position_ids, past_keys, past_values)
        outputs = {"logits": logits}
        for i, (key, value) in enumerate(presents):
            outputs[f"present.{i}.key"] = key
            outputs[f"present.{i}.value"] = value
        return outputs

    proto, _ = tf2onnx.convert.from_function(decoder, input_signature=signature, opset=OPSET)

    by_digest: dict[str, str] = {}
    for name, variable in weight_map(model).items():
        value = variable.numpy()
        by_digest[_digest(value)] = name
        if value.ndim == 2:
            by_digest[_digest(value.T)] = name + TRANSPOSED
    bindings = {}
    for initializer in proto.graph.initializer:
        if initializer.data_type != onnx.TensorProto.FLOAT or len(initializer.dims) == 0:
            continue
        weight = by_digest.get(_digest(numpy_helper.to_array(initializer)))
        if weight is not None:
            bindings[initializer.name] = weight
    return proto, bindings


@functools.lru_cache(maxsize=4)
def _converted_proxy(proxy: Architecture) -> tuple[bytes, tuple[tuple[str, str], ...]]:
    proto, bindings = convert_model(build_model(proxy))
    return proto.SerializeToString(), tuple(bindings.items())


def convert_proxy(cfg: Architecture) -> tuple[onnx.ModelProto, dict[str, str]]:
    """Convert the graph of ``cfg`` through a tiny-weight proxy (see the module docstring).

    The proxy depends on the layout only (depth, heads, biases), so a process that builds
    several models of one layout (every quant type of one model) converts it once."""
    data, bindings = _converted_proxy(proxy_architecture(cfg))
    return onnx.load_from_string(data), dict(bindings)
