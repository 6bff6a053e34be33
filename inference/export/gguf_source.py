"""Reads a Llama-architecture GGUF file: its configuration and its weight tensors.

Weights stay in the GGUF's own blocks until a variant asks for them: the 4-bit variant
re-packs the blocks without changing a single value, the float variant dequantizes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader
from gguf.quants import dequantize

from inference.model_folder import Architecture

log = logging.getLogger(__name__)

SUPPORTED_ARCHITECTURES = ("llama",)
SUPPORTED_TENSOR_TYPES = {
    GGMLQuantizationType.F32,
    GGMLQuantizationType.F16,
    GGMLQuantizationType.Q4_0,
    GGMLQuantizationType.Q4_1,
    GGMLQuantizationType.Q8_0,
}
BLOCK = 32  # every supported quantized type uses 32-wide blocks


class GGUFError(Exception):
    """The GGUF file cannot be turned into a Draftsmith model (message in plain words)."""


@dataclass(frozen=True)
class BlockWeight:
    """A weight matrix [rows=out, cols=in] in one of the supported GGUF encodings.

    For block types: ``q`` holds unsigned codes [rows, cols] (0..15 for 4-bit, 0..255 for
    Q8_0 shifted by 128), ``scale`` the per-block scale [rows, cols/32], ``zero`` the
    integer zero point, and ``minimum`` the per-block offset of Q4_1 (w = scale*q + minimum).
    Float weights keep ``dense`` only."""

    qtype: GGMLQuantizationType
    rows: int
    cols: int
    dense: np.ndarray | None = None
    q: np.ndarray | None = None
    scale: np.ndarray | None = None
    zero: int = 0
    minimum: np.ndarray | None = None

    @property
    def bits(self) -> int:
        return {GGMLQuantizationType.Q8_0: 8}.get(self.qtype, 4)

    @property
    def is_block_quantized(self) -> bool:
        return self.q is not None

    def to_float(self) -> np.ndarray:
        if self.dense is not None:
            return self.dense
        assert self.q is not None and self.scale is not None
        codes = self.q.reshape(self.rows, -1, BLOCK).astype(np.float32) - self.zero
        values = codes * self.scale[..., None]
        if self.minimum is not None:
            values += self.minimum[..., None]
        return values.reshape(self.rows, self.cols)

    def permute_rows(self, order: np.ndarray) -> BlockWeight:
        def take(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else np.ascontiguousarray(a[order])

        return BlockWeight(
            self.qtype,
            self.rows,
            self.cols,
            take(self.dense),
            take(self.q),
            take(self.scale),
            self.zero,
            take(self.minimum),
        )


def _unpack_blocks(
    raw: np.ndarray, qtype: GGMLQuantizationType, rows: int, cols: int
) -> BlockWeight:
    blocks = raw.reshape(rows, cols // BLOCK, -1)
    if qtype == GGMLQuantizationType.Q8_0:
        scale = blocks[..., :2].copy().view(np.float16)[..., 0].astype(np.float32)
        codes = blocks[..., 2:].copy().view(np.int8).astype(np.int16) + 128
        return BlockWeight(
            qtype, rows, cols, q=codes.astype(np.uint8).reshape(rows, cols), scale=scale, zero=128
        )
    header = 4 if qtype == GGMLQuantizationType.Q4_1 else 2
    halves = blocks[..., :header].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[..., header:]
    # ggml stores element j in the low nibble of byte j and element j+16 in its high nibble.
    codes = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).reshape(rows, cols)
    if qtype == GGMLQuantizationType.Q4_1:
        return BlockWeight(qtype, rows, cols, q=codes, scale=halves[..., 0], minimum=halves[..., 1])
    return BlockWeight(qtype, rows, cols, q=codes, scale=halves[..., 0], zero=8)


def unpermute_rope_rows(rows: int, n_head: int) -> np.ndarray:
    """Row order that undoes llama.cpp's converter permutation of the Q/K projections."""
    index = np.arange(rows).reshape(n_head, rows // n_head // 2, 2)
    return index.swapaxes(1, 2).reshape(rows)


class GGUFSource:
    """A validated Llama GGUF file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise GGUFError(f"The weights file {self.path} does not exist.")
        try:
            self.reader = GGUFReader(self.path)
        except Exception as error:  # the reader raises bare ValueError/IndexError/... on junk
            raise GGUFError(
                f"{self.path.name} is not a readable GGUF file (it may be truncated or "
                f"corrupted): {error}"
            ) from error
        self.tensors = {t.name: t for t in self.reader.tensors}
        self.architecture = self._read_architecture()
        self.context_length = int(self._field(f"{self.arch_name}.context_length", 2048))
        self._check_tensors()

    # -- metadata ----------------------------------------------------------------------
    def _field(self, key: str, default: Any = None) -> Any:
        field = self.reader.fields.get(key)
        if field is None:
            return default
        return field.contents()

    @property
    def arch_name(self) -> str:
        return str(self._field("general.architecture", "unknown"))

    @property
    def name(self) -> str:
        return str(self._field("general.name", self.path.stem))

    @property
    def chat_template(self) -> str | None:
        return self._field("tokenizer.chat_template")

    def metadata(self) -> dict[str, Any]:
        keys = (
            "general.name",
            "general.license",
            "general.organization",
            "general.basename",
            "general.size_label",
            "general.finetune",
        )
        return {k.split(".", 1)[1]: self._field(k) for k in keys if self._field(k) is not None}

    def _read_architecture(self) -> Architecture:
        arch = self.arch_name
        if arch not in SUPPORTED_ARCHITECTURES:
            raise GGUFError(
                f"{self.path.name} holds a '{arch}' model; Draftsmith can convert Llama-"
                "architecture models only."
            )
        scaling = self._field(f"{arch}.rope.scaling.type")
        if scaling not in (None, "none"):
            raise GGUFError(
                f"{self.path.name} uses '{scaling}' rope scaling, which is not supported."
            )
        try:
            hidden = int(self._field(f"{arch}.embedding_length"))
            heads = int(self._field(f"{arch}.attention.head_count"))
            kv_heads = int(self._field(f"{arch}.attention.head_count_kv", heads))
            head_dim = int(self._field(f"{arch}.rope.dimension_count", hidden // heads))
            embedding = self.tensors["token_embd.weight"]
            config = Architecture(
                type="llama",
                num_layers=int(self._field(f"{arch}.block_count")),
                hidden_size=hidden,
                num_heads=heads,
                num_kv_heads=kv_heads,
                head_dim=head_dim,
                intermediate_size=int(self._field(f"{arch}.feed_forward_length")),
                vocab_size=int(embedding.shape[1]),
                rope_theta=float(self._field(f"{arch}.rope.freq_base", 10000.0)),
                rms_norm_eps=float(self._field(f"{arch}.attention.layer_norm_rms_epsilon", 1e-5)),
                tie_embeddings="output.weight" not in self.tensors,
            )
        except (TypeError, KeyError, ValueError) as error:
            raise GGUFError(
                f"{self.path.name} lacks the Llama settings it needs ({error})."
            ) from error
        if heads * head_dim != hidden or heads % kv_heads or head_dim % 2:
            raise GGUFError(
                f"{self.path.name} has an unsupported attention layout "
                f"({heads} heads of {head_dim} for width {hidden})."
            )
        return config

    def _check_tensors(self) -> None:
        cfg = self.architecture
        expected = ["token_embd.weight", "output_norm.weight"]
        for i in range(cfg.num_layers):
            expected += [
                f"blk.{i}.{n}.weight"
                for n in (
                    "attn_norm",
                    "attn_q",
                    "attn_k",
                    "attn_v",
                    "attn_output",
                    "ffn_norm",
                    "ffn_gate",
                    "ffn_up",
                    "ffn_down",
                )
            ]
        missing = [n for n in expected if n not in self.tensors]
        if missing:
            raise GGUFError(
                f"{self.path.name} is missing tensors: {', '.join(missing[:5])}"
                f"{' …' if len(missing) > 5 else ''}"
            )
        for name in [*expected, "output.weight"]:
            tensor = self.tensors.get(name)
            if tensor is None:
                continue
            if tensor.tensor_type not in SUPPORTED_TENSOR_TYPES:
                raise GGUFError(
                    f"{self.path.name}: tensor {name} is stored as {tensor.tensor_type.name}; "
                    "supported types are F32, F16, Q4_0, Q4_1 and Q8_0."
                )
            cols = int(tensor.shape[0])
            if (
                tensor.tensor_type not in (GGMLQuantizationType.F32, GGMLQuantizationType.F16)
                and cols % BLOCK
            ):
                raise GGUFError(
                    f"{self.path.name}: tensor {name} has a width of {cols}, not a multiple of 32."
                )

    # -- tensors ---------------------------------------------------------------------
    def vector(self, name: str) -> np.ndarray:
        tensor = self.tensors[name]
        return np.asarray(dequantize(tensor.data, tensor.tensor_type), np.float32).reshape(-1)

    def matrix(self, name: str) -> BlockWeight:
        """A weight as [out, in] with Q/K rows back in Hugging Face's rotary layout."""
        tensor = self.tensors[name]
        cols, rows = int(tensor.shape[0]), int(tensor.shape[1])
        qtype = tensor.tensor_type
        try:
            if qtype in (GGMLQuantizationType.F32, GGMLQuantizationType.F16):
                dense = np.asarray(tensor.data, np.float32).reshape(rows, cols)
                weight = BlockWeight(qtype, rows, cols, dense=dense)
            else:
                weight = _unpack_blocks(np.asarray(tensor.data), qtype, rows, cols)
        except ValueError as error:
            raise GGUFError(
                f"{self.path.name}: tensor {name} is truncated or malformed."
            ) from error
        if name.endswith(("attn_q.weight", "attn_k.weight")):
            cfg = self.architecture
            heads = cfg.num_heads if "attn_q" in name else cfg.num_kv_heads
            weight = weight.permute_rows(unpermute_rope_rows(rows, heads))
        return weight

    def layer_matrix(self, layer: int, part: str) -> BlockWeight:
        return self.matrix(f"blk.{layer}.{part}.weight")

    def output_matrix(self) -> BlockWeight:
        return self.matrix(
            "token_embd.weight" if self.architecture.tie_embeddings else "output.weight"
        )
