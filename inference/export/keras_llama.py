"""The Llama decoder as a Keras model (TensorFlow backend).

Inputs: token ids, the attention mask over past + new tokens, position ids and the past
key/value cache of every layer. Outputs: logits of the LAST position only (the LM head is a
fifth of the work per token at a 49k vocabulary; generation never needs the others) and the
present key/value cache. Grouped-query attention groups the query heads per key/value head
instead of repeating K and V, so no per-step copy of the cache is made.

Name scopes matter: the ONNX rewrite replaces each ``rms_norm`` scope with a fused
normalization, each ``attention_core`` scope with onnxruntime's GroupQueryAttention and each
``swiglu`` scope with a packed gate/up projection and a fused activation."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from inference.export.scopes import ATTENTION_SCOPE, NORM_SCOPE, SWIGLU_SCOPE
from inference.model_folder import Architecture


def _weight(layer: keras.layers.Layer, name: str, shape: tuple[int, ...]) -> keras.Variable:
    return layer.add_weight(shape=shape, name=name, initializer="random_normal", trainable=False)


class RMSNorm(keras.layers.Layer):
    def __init__(self, width: int, eps: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.eps = eps
        self.weight = _weight(self, "weight", (width,))

    def call(self, x: tf.Tensor) -> tf.Tensor:
        with tf.name_scope(NORM_SCOPE):
            variance = tf.reduce_mean(tf.square(x), axis=-1, keepdims=True)
            return x * tf.math.rsqrt(variance + self.eps) * self.weight


class Attention(keras.layers.Layer):
    def __init__(self, cfg: Architecture, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cfg = cfg
        width, head_dim = cfg.hidden_size, cfg.head_dim
        self.q_proj = _weight(self, "q_proj", (width, cfg.num_heads * head_dim))
        self.k_proj = _weight(self, "k_proj", (width, cfg.num_kv_heads * head_dim))
        self.v_proj = _weight(self, "v_proj", (width, cfg.num_kv_heads * head_dim))
        self.o_proj = _weight(self, "o_proj", (cfg.num_heads * head_dim, width))
        self.biases = None
        if cfg.attention_bias:  # qwen2
            self.biases = [
                _weight(self, f"{part}_bias", (count * head_dim,))
                for part, count in (
                    ("q", cfg.num_heads),
                    ("k", cfg.num_kv_heads),
                    ("v", cfg.num_kv_heads),
                )
            ]

    def call(self, x, cos, sin, bias, past_key, past_value):
        q = tf.matmul(x, self.q_proj)
        k = tf.matmul(x, self.k_proj)
        v = tf.matmul(x, self.v_proj)
        if self.biases is not None:
            q, k, v = (t + b for t, b in zip((q, k, v), self.biases, strict=True))
        with tf.name_scope(ATTENTION_SCOPE):
            out, key, value = self._attend(q, k, v, cos, sin, bias, past_key, past_value)
        return tf.matmul(out, self.o_proj), key, value

    def _attend(self, q, k, v, cos, sin, bias, past_key, past_value):
        cfg = self.cfg
        batch, seq = tf.shape(q)[0], tf.shape(q)[1]
        groups = cfg.num_heads // cfg.num_kv_heads

        def heads(t: tf.Tensor, count: int) -> tf.Tensor:  # [b, s, n*d] -> [b, n, s, d]
            return tf.transpose(tf.reshape(t, [batch, seq, count, cfg.head_dim]), [0, 2, 1, 3])

        def rotate(t: tf.Tensor) -> tf.Tensor:
            first, second = tf.split(t, 2, axis=-1)
            return t * cos + tf.concat([-second, first], axis=-1) * sin

        q = rotate(heads(q, cfg.num_heads))
        key = tf.concat([past_key, rotate(heads(k, cfg.num_kv_heads))], axis=2)
        value = tf.concat([past_value, heads(v, cfg.num_kv_heads)], axis=2)
        # Query heads h = kv*groups + g share key/value head kv: fold the groups into the
        # query length instead of repeating K/V.
        q = tf.reshape(q, [batch, cfg.num_kv_heads, groups * seq, cfg.head_dim])
        scores = tf.matmul(q, key, transpose_b=True) * (cfg.head_dim**-0.5)
        total = tf.shape(key)[2]
        scores = tf.reshape(scores, [batch, cfg.num_kv_heads, groups, seq, total])
        probs = tf.nn.softmax(scores + bias[:, :, None], axis=-1)
        probs = tf.reshape(probs, [batch, cfg.num_kv_heads, groups * seq, total])
        out = tf.reshape(tf.matmul(probs, value), [batch, cfg.num_heads, seq, cfg.head_dim])
        out = tf.transpose(out, [0, 2, 1, 3])
        out = tf.reshape(out, [batch, seq, cfg.num_heads * cfg.head_dim])
        return out, key, value


class MLP(keras.layers.Layer):
    def __init__(self, cfg: Architecture, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gate_proj = _weight(self, "gate_proj", (cfg.hidden_size, cfg.intermediate_size))
        self.up_proj = _weight(self, "up_proj", (cfg.hidden_size, cfg.intermediate_size))
        self.down_proj = _weight(self, "down_proj", (cfg.intermediate_size, cfg.hidden_size))

    def call(self, x: tf.Tensor) -> tf.Tensor:
        gate, up = tf.matmul(x, self.gate_proj), tf.matmul(x, self.up_proj)
        with tf.name_scope(SWIGLU_SCOPE):
            activated = tf.nn.silu(gate) * up
        return tf.matmul(activated, self.down_proj)


class DecoderLayer(keras.layers.Layer):
    def __init__(self, cfg: Architecture, **kwargs) -> None:
        super().__init__(**kwargs)
        self.input_norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, name="input_norm")
        self.attention = Attention(cfg, name="attention")
        self.post_attention_norm = RMSNorm(
            cfg.hidden_size, cfg.rms_norm_eps, name="post_attention_norm"
        )
        self.mlp = MLP(cfg, name="mlp")

    def call(self, x, cos, sin, bias, past_key, past_value):
        attended, key, value = self.attention(
            self.input_norm(x), cos, sin, bias, past_key, past_value
        )
        x = x + attended
        return x + self.mlp(self.post_attention_norm(x)), key, value


class LlamaDecoder(keras.Model):
    """Token ids + cache in; last-position logits + updated cache out."""

    def __init__(self, cfg: Architecture, **kwargs) -> None:
        super().__init__(name="llama", **kwargs)
        self.cfg = cfg
        self.embedding = _weight(self, "embedding", (cfg.vocab_size, cfg.hidden_size))
        self.blocks = [DecoderLayer(cfg, name=f"layer_{i}") for i in range(cfg.num_layers)]
        self.final_norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, name="final_norm")
        self.lm_head = (
            None
            if cfg.tie_embeddings
            else _weight(self, "lm_head", (cfg.hidden_size, cfg.vocab_size))
        )
        self.inv_freq = inverse_frequencies(cfg)

    def call(self, input_ids, attention_mask, position_ids, past_keys, past_values):
        x = tf.gather(self.embedding, input_ids)
        cos, sin = rotary_tables(self.inv_freq, position_ids)
        bias = attention_bias(attention_mask, tf.shape(input_ids)[1])
        presents = []
        for block, past_key, past_value in zip(self.blocks, past_keys, past_values, strict=True):
            x, key, value = block(x, cos, sin, bias, past_key, past_value)
            presents.append((key, value))
        last = self.final_norm(x[:, -1:, :])
        if self.lm_head is None:
            logits = tf.matmul(last, self.embedding, transpose_b=True)
        else:
            logits = tf.matmul(last, self.lm_head)
        return logits, presents

    def _rotary_tables(self, position_ids):
        return rotary_tables(self.inv_freq, position_ids)

    @staticmethod
    def _attention_bias(attention_mask, seq):
        return attention_bias(attention_mask, seq)


def inverse_frequencies(cfg: Architecture) -> np.ndarray:
    """The rotary embedding's frequency per pair of head dimensions."""
    half = np.arange(0, cfg.head_dim, 2, dtype=np.float64) / cfg.head_dim
    inv_freq = 1.0 / cfg.rope_theta**half
    if cfg.rope_freq_factors is not None:  # Llama 3: each frequency divided by its factor
        inv_freq = inv_freq / np.asarray(cfg.rope_freq_factors, np.float64)
    return inv_freq.astype(np.float32)


def rotary_tables(inv_freq: np.ndarray, position_ids):
    angles = tf.cast(position_ids, tf.float32)[..., None] * inv_freq
    angles = tf.concat([angles, angles], axis=-1)[:, None]  # [b, 1, s, d]
    return tf.cos(angles), tf.sin(angles)


def attention_bias(attention_mask, seq):
    """[b, 1, s, total]: 0 where a query may look, a large negative number elsewhere."""
    total = tf.shape(attention_mask)[1]
    query_pos = tf.range(total - seq, total)[:, None]
    causal = tf.range(total)[None, :] <= query_pos
    visible = tf.logical_and(causal[None], tf.cast(attention_mask, tf.bool)[:, None, :])
    return tf.where(visible, 0.0, -1e9)[:, None]


def build_model(cfg: Architecture) -> LlamaDecoder:
    """A model with random weights; the builder assigns the real ones through ``weight_map``."""
    model = LlamaDecoder(cfg)
    empty = tf.zeros([1, cfg.num_kv_heads, 0, cfg.head_dim])
    model(
        tf.zeros([1, 1], tf.int64),
        tf.ones([1, 1], tf.int64),
        tf.zeros([1, 1], tf.int64),
        [empty] * cfg.num_layers,
        [empty] * cfg.num_layers,
    )
    return model


def weight_map(model: LlamaDecoder) -> dict[str, keras.Variable]:
    """Every weight by its stable name: ``embedding``, ``layer_3.attention.q_proj``..."""
    names = {"embedding": model.embedding, "final_norm.weight": model.final_norm.weight}
    if model.lm_head is not None:
        names["lm_head"] = model.lm_head
    for i, block in enumerate(model.blocks):
        names.update(layer_weight_map(block, i))
    return names


def layer_weight_map(block: DecoderLayer, index: int) -> dict[str, keras.Variable]:
    """The weights of one decoder layer, named as layer ``index`` of ``weight_map``."""
    prefix = f"layer_{index}"
    names = {
        f"{prefix}.input_norm.weight": block.input_norm.weight,
        f"{prefix}.post_attention_norm.weight": block.post_attention_norm.weight,
    }
    for part in ("q_proj", "k_proj", "v_proj", "o_proj"):
        names[f"{prefix}.attention.{part}"] = getattr(block.attention, part)
    if block.attention.biases is not None:
        for part, variable in zip("qkv", block.attention.biases, strict=True):
            names[f"{prefix}.attention.{part}_bias"] = variable
    for part in ("gate_proj", "up_proj", "down_proj"):
        names[f"{prefix}.mlp.{part}"] = getattr(block.mlp, part)
    return names


def cache_signature(cfg: Architecture) -> list[tf.TensorSpec]:
    """The export input signature: every axis that varies at run time is dynamic."""
    ids = tf.TensorSpec([None, None], tf.int64)
    cache = [tf.TensorSpec([None, None, None, None], tf.float32)] * cfg.num_layers
    return [ids, ids, ids, cache, cache]
