"""Reads a Llama-family GGUF file (``llama``, including Llama 3 and Mistral, and ``qwen2``):
its configuration and its weight tensors.

Weights stay in the GGUF's own blocks until a variant asks for them: the 4-bit variant
re-packs the blocks without changing a single value, the float variant dequantizes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFReader
from gguf.quants import dequantize

from inference.model_folder import Architecture

log = logging.getLogger(__name__)

SUPPORTED_ARCHITECTURES = ("llama", "qwen2")
# Tensors besides the per-layer ones that a supported file may hold.
_GLOBAL_TENSORS = ("token_embd.weight", "output_norm.weight", "output.weight", "rope_freqs.weight")
_LAYER_WEIGHTS = (
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
QKV_BIASES = ("attn_q.bias", "attn_k.bias", "attn_v.bias")
FLOAT_TYPES = (GGMLQuantizationType.F32, GGMLQuantizationType.F16)
# Every block type below is read exactly: its integer codes, per-block scales (and offsets)
# are the very numbers ggml multiplies, so the 4-bit variant re-packs them without rounding.
BLOCK_TYPES = tuple(
    GGMLQuantizationType[name]
    for name in ("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K")
)
SUPPORTED_TENSOR_TYPES = frozenset((*FLOAT_TYPES, *BLOCK_TYPES))
SUPPORTED_TYPE_NAMES = ", ".join(t.name for t in (*FLOAT_TYPES, *BLOCK_TYPES))
BLOCK = 32  # the block width of the legacy types and of the K-quants' sub-blocks (Q6_K: 16)
QK_K = 256  # a K-quant super-block


class GGUFError(Exception):
    """The GGUF file cannot be turned into a Draftsmith model (message in plain words)."""


@dataclass(frozen=True)
class BlockWeight:
    """A weight matrix [rows=out, cols=in] in one of the supported GGUF encodings.

    For block types: ``q`` holds unsigned codes [rows, cols] (``bits`` wide), ``scale`` the
    scale of each ``block``-wide block [rows, cols/block], ``zero`` the integer zero point
    and ``minimum`` an optional per-block offset: w = scale * (q - zero) + minimum. Every
    GGUF block type fits this form exactly (Q4_1/Q4_K/Q5_1/Q5_K carry an offset; 5- and
    6-bit codes are re-centred into 8 bits). Float weights keep ``dense`` only."""

    qtype: GGMLQuantizationType
    rows: int
    cols: int
    dense: np.ndarray | None = None
    q: np.ndarray | None = None
    scale: np.ndarray | None = None
    zero: int = 0
    minimum: np.ndarray | None = None
    bits: int = 4
    block: int = BLOCK

    @property
    def is_block_quantized(self) -> bool:
        return self.q is not None

    @property
    def layout(self) -> tuple[int, int, int, bool]:
        """What MatMulNBits needs to know; weights with equal layouts stack row-wise."""
        return (self.bits, self.block, self.zero, self.minimum is not None)

    def to_float(self) -> np.ndarray:
        if self.dense is not None:
            return self.dense
        assert self.q is not None and self.scale is not None
        codes = self.q.reshape(self.rows, -1, self.block).astype(np.float32) - self.zero
        values = codes * self.scale[..., None]
        if self.minimum is not None:
            values += self.minimum[..., None]
        return values.reshape(self.rows, self.cols)

    def widened(self, bits: int, block: int, with_minimum: bool) -> BlockWeight:
        """The same values in a layout with at least as many bits and smaller blocks
        (exact: codes move by an integer, scales and offsets are repeated)."""
        assert self.q is not None and self.scale is not None
        assert bits >= self.bits and self.block % block == 0
        repeat = self.block // block
        zero = self.zero
        q = self.q
        if bits != self.bits:
            zero = 1 << (bits - 1)
            q = (q.astype(np.int16) - self.zero + zero).astype(np.uint8)
        minimum = self.minimum
        if minimum is None and with_minimum:
            minimum = np.full_like(self.scale, -0.0)  # x + -0.0 is x, bit for bit
        return BlockWeight(
            self.qtype,
            self.rows,
            self.cols,
            q=q,
            scale=np.repeat(self.scale, repeat, axis=1),
            zero=zero,
            minimum=None if minimum is None else np.repeat(minimum, repeat, axis=1),
            bits=bits,
            block=block,
        )

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
            self.bits,
            self.block,
        )


def _halves(raw: np.ndarray) -> np.ndarray:
    """Little-endian float16 values stored in the last axis's byte pairs, as float32."""
    return np.ascontiguousarray(raw).view(np.float16).astype(np.float32)


def _bits_of(qh: np.ndarray) -> np.ndarray:
    """[..., 4] bytes -> [..., 32] bits, bit j of the little-endian word first."""
    return np.unpackbits(qh, axis=-1, bitorder="little")


def _k_scales(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_K/Q5_K's 12 bytes -> eight 6-bit scales and eight 6-bit mins per super-block."""
    d, m, m_d = packed[..., 0:4], packed[..., 4:8], packed[..., 8:12]
    sc = np.concatenate([d & 0x3F, (m_d & 0x0F) | ((d >> 2) & 0x30)], axis=-1)
    mn = np.concatenate([m & 0x3F, (m_d >> 4) | ((m >> 2) & 0x30)], axis=-1)
    return sc.astype(np.float32), mn.astype(np.float32)


def unpack_blocks(
    raw: np.ndarray, qtype: GGMLQuantizationType, rows: int, cols: int
) -> BlockWeight:
    """The codes, scales and offsets of a block-quantized tensor (ggml's layouts)."""
    Q = GGMLQuantizationType
    if qtype in (Q.Q4_K, Q.Q5_K, Q.Q6_K):
        return _unpack_k_blocks(raw, qtype, rows, cols)
    blocks = raw.reshape(rows, cols // BLOCK, -1)
    if qtype == Q.Q8_0:
        scale = _halves(blocks[..., :2])[..., 0]
        codes = blocks[..., 2:].copy().view(np.int8).astype(np.int16) + 128
        return _eight_bit(qtype, rows, cols, codes, scale)
    offset = qtype in (Q.Q4_1, Q.Q5_1)
    header = 4 if offset else 2
    halves = _halves(blocks[..., :header])
    minimum = halves[..., 1] if offset else None
    if qtype in (Q.Q5_0, Q.Q5_1):
        high = _bits_of(blocks[..., header : header + 4])
        nibbles = blocks[..., header + 4 :]
    else:
        high = None
        nibbles = blocks[..., header:]
    # ggml stores element j in the low nibble of byte j and element j+16 in its high nibble.
    codes = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1)
    if high is None:
        zero = 0 if offset else 8
        return BlockWeight(
            qtype,
            rows,
            cols,
            q=codes.reshape(rows, cols),
            scale=halves[..., 0],
            zero=zero,
            minimum=minimum,
        )
    # 5-bit codes (0..31) in 8 bits around 128: Q5_0's q-16 becomes (q+112)-128.
    codes = (codes | (high << 4)) + (128 if offset else 112)
    return BlockWeight(
        qtype,
        rows,
        cols,
        q=codes.astype(np.uint8).reshape(rows, cols),
        scale=halves[..., 0],
        zero=128,
        minimum=minimum,
        bits=8,
    )


def _unpack_k_blocks(
    raw: np.ndarray, qtype: GGMLQuantizationType, rows: int, cols: int
) -> BlockWeight:
    """Q4_K / Q5_K: 8 sub-blocks of 32 with scale d*sc and offset -dmin*m; Q6_K: 16
    sub-blocks of 16 with scale d*sc around 32 (ggml-quants.c's layouts)."""
    Q = GGMLQuantizationType
    supers = raw.reshape(rows, cols // QK_K, -1)
    if qtype == Q.Q6_K:
        ql, qh = supers[..., :128], supers[..., 128:192]
        sc = supers[..., 192:208].copy().view(np.int8).astype(np.float32)
        d = _halves(supers[..., 208:210])
        # Two halves of 128: ql's 64 bytes give elements 0-63 (low nibbles), 64-127 (high);
        # qh's 32 bytes give bits 4-5 of elements 0-31, 32-63, 64-95, 96-127.
        halves = ql.reshape(rows, -1, 2, 1, 64) >> np.array([0, 4], np.uint8).reshape(1, 1, 1, 2, 1)
        low = (halves & 0x0F).reshape(rows, -1, 2, 4, 32)
        high = qh.reshape(rows, -1, 2, 1, 32) >> np.array([0, 2, 4, 6], np.uint8).reshape(
            1, 1, 1, 4, 1
        )
        six_bit = (low | ((high & 0x03) << 4)).reshape(rows, cols).astype(np.int16)
        return BlockWeight(
            qtype,
            rows,
            cols,
            q=(six_bit + 96).astype(np.uint8),  # q-32 -> (q+96)-128
            scale=(d * sc).reshape(rows, -1),
            zero=128,
            bits=8,
            block=16,
        )
    d, dmin = _halves(supers[..., 0:2]), _halves(supers[..., 2:4])
    sc, mn = _k_scales(supers[..., 4:16])
    scale = (d * sc).reshape(rows, -1)
    minimum = -(dmin * mn).reshape(rows, -1)
    qs = supers[..., 16:] if qtype == Q.Q4_K else supers[..., 48:]
    # Four chunks of 64 elements: 32 bytes, low nibbles first, then high nibbles.
    shifted = qs.reshape(rows, -1, 4, 1, 32) >> np.array([0, 4], np.uint8).reshape(1, 1, 1, 2, 1)
    nibbles = (shifted & 0x0F).reshape(rows, -1, 8, 32)
    if qtype == Q.Q4_K:
        return BlockWeight(
            qtype, rows, cols, q=nibbles.reshape(rows, cols), scale=scale, minimum=minimum
        )
    # Q5_K: bit 4 of sub-block i's element j is bit i of qh byte j.
    qh = supers[..., 16:48].reshape(rows, -1, 1, 32)
    bit = qh >> np.arange(8, dtype=np.uint8).reshape(1, 1, 8, 1)
    codes = (nibbles | ((bit & 0x01) << 4)).astype(np.int16) + 128
    return _eight_bit(qtype, rows, cols, codes, scale, minimum)


def _eight_bit(
    qtype: GGMLQuantizationType,
    rows: int,
    cols: int,
    codes: np.ndarray,
    scale: np.ndarray,
    minimum: np.ndarray | None = None,
) -> BlockWeight:
    """Signed codes re-centred on 128 (``codes`` already holds code + 128) as 8-bit blocks."""
    return BlockWeight(
        qtype,
        rows,
        cols,
        q=codes.astype(np.uint8).reshape(rows, cols),
        scale=scale,
        zero=128,
        minimum=minimum,
        bits=8,
    )


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
                f"architecture models only ({', '.join(SUPPORTED_ARCHITECTURES)})."
            )
        try:
            hidden = int(self._field(f"{arch}.embedding_length"))
            heads = int(self._field(f"{arch}.attention.head_count"))
            kv_heads = int(self._field(f"{arch}.attention.head_count_kv", heads))
            head_dim = int(self._field(f"{arch}.rope.dimension_count", hidden // heads))
            embedding = self.tensors["token_embd.weight"]
            config = Architecture(
                type=arch,
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
                attention_bias="blk.0.attn_q.bias" in self.tensors,
                rope_freq_factors=self._rope_freq_factors(arch, head_dim),
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

    def _rope_freq_factors(self, arch: str, head_dim: int) -> tuple[float, ...] | None:
        """What each rotary frequency is divided by, as llama.cpp does: Llama 3's
        ``rope_freqs`` tensor, times a linear scaling factor. YaRN and others are refused."""
        factors = np.ones(head_dim // 2, np.float64)
        scaled = False
        scaling = self._field(f"{arch}.rope.scaling.type")
        if scaling == "linear":
            factors *= float(self._field(f"{arch}.rope.scaling.factor", 1.0))
            scaled = True
        elif scaling not in (None, "none"):
            raise GGUFError(
                f"{self.path.name} uses '{scaling}' rope scaling, which is not supported "
                "(supported: none, linear, Llama 3's rope_freqs)."
            )
        tensor = self.tensors.get("rope_freqs.weight")
        if tensor is not None:
            values = np.asarray(tensor.data, np.float64).reshape(-1)
            if tensor.tensor_type != GGMLQuantizationType.F32 or values.size != head_dim // 2:
                raise GGUFError(
                    f"{self.path.name}: rope_freqs.weight should hold {head_dim // 2} float32 "
                    "factors."
                )
            factors *= values
            scaled = True
        return tuple(float(f) for f in factors) if scaled else None

    def _check_tensors(self) -> None:
        cfg = self.architecture
        expected = ["token_embd.weight", "output_norm.weight"]
        for i in range(cfg.num_layers):
            expected += [f"blk.{i}.{n}.weight" for n in _LAYER_WEIGHTS]
            if cfg.attention_bias:
                expected += [f"blk.{i}.{n}" for n in QKV_BIASES]
        missing = [n for n in expected if n not in self.tensors]
        if missing:
            raise GGUFError(
                f"{self.path.name} is missing tensors: {', '.join(missing[:5])}"
                f"{' …' if len(missing) > 5 else ''}"
            )
        # A tensor the model would silently leave out (a bias llama.cpp adds, an extra
        # norm) changes every answer: refuse it by name instead.
        known = set(expected) | set(_GLOBAL_TENSORS)
        unknown = sorted(n for n in self.tensors if n not in known)
        if unknown:
            raise GGUFError(
                f"{self.path.name} holds tensors Draftsmith does not know how to use: "
                f"{', '.join(unknown[:5])}{' …' if len(unknown) > 5 else ''}; this variant of "
                f"the '{self.arch_name}' architecture is not supported."
            )
        for name in [*expected, "output.weight"]:
            tensor = self.tensors.get(name)
            if tensor is None:
                continue
            if tensor.tensor_type not in SUPPORTED_TENSOR_TYPES:
                raise GGUFError(
                    f"{self.path.name}: tensor {name} is stored as {tensor.tensor_type.name}, "
                    f"which Draftsmith cannot convert exactly; supported types are "
                    f"{SUPPORTED_TYPE_NAMES}."
                )
            cols = int(tensor.shape[0])
            width = GGML_QUANT_SIZES[tensor.tensor_type][0]
            if cols % width:
                raise GGUFError(
                    f"{self.path.name}: tensor {name} has a width of {cols}, not a multiple "
                    f"of {width} ({tensor.tensor_type.name} blocks)."
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
            if qtype in FLOAT_TYPES:
                dense = np.asarray(tensor.data, np.float32).reshape(rows, cols)
                weight = BlockWeight(qtype, rows, cols, dense=dense)
            else:
                weight = unpack_blocks(np.asarray(tensor.data), qtype, rows, cols)
        except ValueError as error:
            raise GGUFError(
                f"{self.path.name}: tensor {name} is truncated or malformed."
            ) from error
        order = self._rope_order(name)
        return weight if order is None else weight.permute_rows(order)

    def _rope_order(self, name: str) -> np.ndarray | None:
        """For ``llama`` files, the row order undoing the converter's Q/K permutation
        (llama.cpp rotates interleaved pairs there); ``qwen2`` is stored as trained."""
        if self.arch_name != "llama" or (".attn_q." not in name and ".attn_k." not in name):
            return None
        cfg = self.architecture
        heads = cfg.num_heads if ".attn_q." in name else cfg.num_kv_heads
        shape = self.tensors[name].shape  # ggml order: (cols, rows), or (rows,) for a bias
        rows = int(shape[0] if name.endswith(".bias") else shape[1])
        return unpermute_rope_rows(rows, heads)

    def bias(self, layer: int, part: str) -> np.ndarray:
        """A Q/K/V bias (``attn_q`` ...) in the same row order as its matrix."""
        name = f"blk.{layer}.{part}.bias"
        values = self.vector(name)
        order = self._rope_order(name)
        return values if order is None else values[order]

    def layer_matrix(self, layer: int, part: str) -> BlockWeight:
        return self.matrix(f"blk.{layer}.{part}.weight")

    def output_matrix(self) -> BlockWeight:
        return self.matrix(
            "token_embd.weight" if self.architecture.tie_embeddings else "output.weight"
        )

    def tensor_types(self) -> dict[str, int]:
        """How many tensors the file stores in each type (e.g. a Q4_K_M's mix)."""
        counts: dict[str, int] = {}
        for tensor in self.reader.tensors:
            counts[tensor.tensor_type.name] = counts.get(tensor.tensor_type.name, 0) + 1
        return dict(sorted(counts.items()))
