"""Low-rank adapters (LoRA) on the frozen Keras Llama, and the full-sequence forward pass
training and evaluation need (the export model returns the last position only).

Why these settings:

* **Targets: every projection** (q, k, v, o, gate, up, down). A writer's style is mostly
  word choice and phrasing, which the MLP projections carry as much as attention does, and
  QLoRA found adapters on all linear layers are needed to match full fine-tuning; the
  original LoRA paper's q+v suited its much larger models. Measured on the tiny test model
  (15 steps, same corpus and learning rate): q+v brought held-out perplexity from 2e11 to
  17 349, all seven to 149. The cost is small: the frozen base's forward and backward pass
  dominates a training step, and the exported model decodes at the base's speed (README).
* **Rank 8, alpha 16** (scale 2): the LoRA paper found ranks as low as 1-8 matching 64;
  rank 8 is 2.4 M floats for SmolLM2-135M (9.8 MB; 14.7 MB in the exported
  graph, where the packed q/k/v and gate/up branches hold B block-diagonally).
* **A random (Kaiming-uniform), B zero**: the adapted model starts exactly at the base, so
  step 0's held-out perplexity is the base's.
* **Steps, batch, context, learning rate**: see ``training.TrainingPlan``.

The base's weights come from the GGUF through ``GGUFWeights.keras_weights``, the same call
the export's TensorFlow reference uses, so the adapter is trained against exactly the
numbers the 4-bit ONNX model holds (dequantized)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import tensorflow as tf

from inference.export.gguf_source import GGUFSource
from inference.export.keras_llama import LlamaDecoder, build_model, weight_map
from inference.export.weights import GGUFWeights
from inference.model_folder import Architecture

ATTENTION_PARTS = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP_PARTS = ("gate_proj", "up_proj", "down_proj")
ALL_PARTS = ATTENTION_PARTS + MLP_PARTS


@dataclass(frozen=True)
class AdapterConfig:
    rank: int = 8
    alpha: float = 16.0
    targets: tuple[str, ...] = ALL_PARTS
    seed: int = 0

    @property
    def scale(self) -> float:
        return self.alpha / self.rank

    def as_dict(self) -> dict:
        values = asdict(self)
        values["targets"] = list(self.targets)
        return values


def projection_shapes(cfg: Architecture) -> dict[str, tuple[int, int]]:
    """[in, out] of each projection (the Keras kernel layout)."""
    q = cfg.num_heads * cfg.head_dim
    kv = cfg.num_kv_heads * cfg.head_dim
    h, m = cfg.hidden_size, cfg.intermediate_size
    return {
        "q_proj": (h, q),
        "k_proj": (h, kv),
        "v_proj": (h, kv),
        "o_proj": (q, h),
        "gate_proj": (h, m),
        "up_proj": (h, m),
        "down_proj": (m, h),
    }


def weight_name(layer: int, part: str) -> str:
    group = "attention" if part in ATTENTION_PARTS else "mlp"
    return f"layer_{layer}.{group}.{part}"


@dataclass
class Adapters:
    """One (A [in, r], B [r, out]) pair per adapted projection, as trainable variables."""

    config: AdapterConfig
    pairs: dict[str, tuple[tf.Variable, tf.Variable]] = field(default_factory=dict)

    @classmethod
    def create(cls, cfg: Architecture, config: AdapterConfig) -> Adapters:
        unknown = set(config.targets) - set(ALL_PARTS)
        if unknown or not config.targets:
            raise ValueError(f"unknown adapter targets: {sorted(unknown)}")
        rng = np.random.default_rng(config.seed)
        shapes = projection_shapes(cfg)
        adapters = cls(config)
        for layer in range(cfg.num_layers):
            for part in config.targets:
                fan_in, fan_out = shapes[part]
                bound = 1 / math.sqrt(fan_in)  # Kaiming-uniform with a=sqrt(5), as in LoRA
                a = rng.uniform(-bound, bound, (fan_in, config.rank)).astype(np.float32)
                b = np.zeros((config.rank, fan_out), np.float32)
                name = weight_name(layer, part)
                adapters.pairs[name] = (
                    tf.Variable(a, name=f"{name}.lora_a"),
                    tf.Variable(b, name=f"{name}.lora_b"),
                )
        return adapters

    @property
    def variables(self) -> list[tf.Variable]:
        return [v for pair in self.pairs.values() for v in pair]

    def parameter_count(self) -> int:
        return sum(int(np.prod(v.shape)) for v in self.variables)

    def arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each projection's (A, B * scale): the exact delta x·A·B the export adds."""
        scale = np.float32(self.config.scale)
        return {n: (a.numpy(), b.numpy() * scale) for n, (a, b) in self.pairs.items()}

    def checkpoint_objects(self) -> dict[str, tf.Variable]:
        """Checkpoint-friendly attribute names (no dots)."""
        objects = {}
        for name, (a, b) in self.pairs.items():
            key = name.replace(".", "_")
            objects[f"{key}_a"], objects[f"{key}_b"] = a, b
        return objects


def load_frozen_base(source: GGUFSource) -> LlamaDecoder:
    """The Keras Llama with the GGUF's weights, dequantized exactly as the export does."""
    model = build_model(source.architecture)
    weights = GGUFWeights(source)
    for name, variable in weight_map(model).items():
        variable.assign(weights.keras_weights([name])[name])
    return model


def _project(x, kernel, pair, scale: float):
    y = tf.matmul(x, kernel)
    if pair is None:
        return y
    a, b = pair
    return y + tf.matmul(tf.matmul(x, a), b) * scale


def sequence_logits(model: LlamaDecoder, adapters: Adapters | None, ids: tf.Tensor) -> tf.Tensor:
    """Logits at every position of ``ids`` [batch, length] (no cache, all tokens visible to
    the causal mask), with the adapters' side branches where there are adapters."""
    cfg = model.cfg
    pairs = adapters.pairs if adapters is not None else {}
    scale = adapters.config.scale if adapters is not None else 1.0
    batch, length = tf.shape(ids)[0], tf.shape(ids)[1]
    positions = tf.broadcast_to(tf.range(length, dtype=tf.int64)[None], [batch, length])
    cos, sin = model._rotary_tables(positions)
    bias = model._attention_bias(tf.ones([batch, length], tf.int64), length)
    empty = tf.zeros([batch, cfg.num_kv_heads, 0, cfg.head_dim])
    x = tf.gather(model.embedding, ids)
    for layer, block in enumerate(model.blocks):
        attention, mlp = block.attention, block.mlp

        def proj(h, part, kernel, layer=layer):
            return _project(h, kernel, pairs.get(weight_name(layer, part)), scale)

        h = block.input_norm.call(x)
        q = proj(h, "q_proj", attention.q_proj)
        k = proj(h, "k_proj", attention.k_proj)
        v = proj(h, "v_proj", attention.v_proj)
        out, _, _ = attention._attend(q, k, v, cos, sin, bias, empty, empty)
        x = x + proj(out, "o_proj", attention.o_proj)
        h = block.post_attention_norm.call(x)
        gate = proj(h, "gate_proj", mlp.gate_proj)
        up = proj(h, "up_proj", mlp.up_proj)
        x = x + proj(tf.nn.silu(gate) * up, "down_proj", mlp.down_proj)
    x = model.final_norm.call(x)
    if model.lm_head is None:
        return tf.matmul(x, model.embedding, transpose_b=True)
    return tf.matmul(x, model.lm_head)


def window_loss(
    model: LlamaDecoder, adapters: Adapters | None, ids: tf.Tensor, weights: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """(sum of next-token negative log-likelihoods, count of counted targets)."""
    logits = sequence_logits(model, adapters, ids[:, :-1])
    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=ids[:, 1:], logits=logits)
    return tf.reduce_sum(nll * weights), tf.reduce_sum(weights)
