"""Writes K-quant blocks (Q4_K, Q5_K, Q6_K) from float values, following ggml-quants.c's
layouts, for tiny test GGUFs: the installed gguf package only dequantizes these types.

The scale search is simpler than llama.cpp's (min/max per sub-block), which changes which
codes are chosen, never what they mean: tests check every tensor against
``gguf.quants.dequantize``."""

from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf.quants import quantize

QK_K = 256


def _f16(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(float16 bytes [n, 2], the float32 value those bytes mean)."""
    half = values.astype(np.float16)
    return half.reshape(-1, 1).view(np.uint8), half.astype(np.float32)


def _safe_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


def _pack_k_scales(sc: np.ndarray, mn: np.ndarray) -> np.ndarray:
    """Eight 6-bit scales and mins per super-block -> ggml's 12 bytes."""
    sc, mn = sc.astype(np.uint8), mn.astype(np.uint8)
    low = sc[:, :4] | ((sc[:, 4:] >> 4) << 6)
    mid = mn[:, :4] | ((mn[:, 4:] >> 4) << 6)
    high = (sc[:, 4:] & 0x0F) | ((mn[:, 4:] & 0x0F) << 4)
    return np.concatenate([low, mid, high], axis=1)


def _k_with_min(values: np.ndarray, levels: int) -> tuple[np.ndarray, ...]:
    """Q4_K/Q5_K: (d, dmin, packed scales, codes [n, 8, 32]) for [n, 256] values."""
    sub = values.reshape(-1, 8, 32)
    lo = np.maximum(0.0, -sub.min(-1))  # the offset is subtracted: mins are >= 0
    step = (sub.max(-1) + lo) / levels
    d_bytes, d = _f16(step.max(-1) / 63)
    dmin_bytes, dmin = _f16(lo.max(-1) / 63)
    sc = np.clip(np.round(_safe_divide(step, d[:, None])), 0, 63)
    mn = np.clip(np.round(_safe_divide(lo, dmin[:, None])), 0, 63)
    scale = (d[:, None] * sc)[..., None]
    offset = (dmin[:, None] * mn)[..., None]
    codes = np.clip(np.round(_safe_divide(sub + offset, scale)), 0, levels).astype(np.uint8)
    return d_bytes, dmin_bytes, _pack_k_scales(sc, mn), codes


def _nibbles(codes: np.ndarray) -> np.ndarray:
    """[n, 8, 32] 4-bit codes -> 128 bytes: sub-block 2c low nibbles, 2c+1 high."""
    pairs = codes.reshape(-1, 4, 2, 32)
    return (pairs[:, :, 0] | (pairs[:, :, 1] << 4)).reshape(-1, 128)


def q4_k(values: np.ndarray) -> np.ndarray:
    d, dmin, scales, codes = _k_with_min(values, 15)
    return np.concatenate([d, dmin, scales, _nibbles(codes)], axis=1)


def q5_k(values: np.ndarray) -> np.ndarray:
    d, dmin, scales, codes = _k_with_min(values, 31)
    high = (codes >> 4).astype(np.uint8)  # [n, 8, 32]: bit i of byte j <- sub-block i, elem j
    qh = np.zeros((codes.shape[0], 32), np.uint8)
    for i in range(8):
        qh |= high[:, i] << i
    return np.concatenate([d, dmin, scales, qh, _nibbles(codes & 0x0F)], axis=1)


def q6_k(values: np.ndarray) -> np.ndarray:
    sub = values.reshape(-1, 16, 16)
    step = np.abs(sub).max(-1) / 31
    d_bytes, d = _f16(step.max(-1) / 127)
    sc = np.clip(np.round(_safe_divide(step, d[:, None])), -128, 127)
    scale = (d[:, None] * sc)[..., None]
    q = (np.clip(np.round(_safe_divide(sub, scale)), -32, 31) + 32).astype(np.uint8)
    q = q.reshape(-1, 2, 4, 32)  # two halves of 128: four runs of 32 elements
    # ql byte i of a half: element i's low 4 bits, element i+64's in its high nibble.
    low = np.concatenate([q[:, :, 0], q[:, :, 1]], axis=2) & 0x0F
    ql = (low | ((np.concatenate([q[:, :, 2], q[:, :, 3]], axis=2) & 0x0F) << 4)).astype(np.uint8)
    qh = np.zeros((q.shape[0], 2, 32), np.uint8)
    for k in range(4):
        qh |= (q[:, :, k] >> 4) << (2 * k)
    sc_bytes = sc.astype(np.int8).view(np.uint8)
    return np.concatenate([ql.reshape(-1, 128), qh.reshape(-1, 64), sc_bytes, d_bytes], axis=1)


_WRITERS = {Q.Q4_K: q4_k, Q.Q5_K: q5_k, Q.Q6_K: q6_k}


def quantize_any(values: np.ndarray, qtype: Q) -> np.ndarray:
    """``values`` [rows, cols] as ``qtype`` blocks in GGUF's raw byte layout [rows, bytes]."""
    values = np.asarray(values, np.float32)
    writer = _WRITERS.get(qtype)
    if writer is None:
        return quantize(values, qtype)
    rows, cols = values.shape
    assert cols % QK_K == 0, f"{qtype.name} rows must be a multiple of {QK_K} wide"
    return writer(values.reshape(-1, QK_K)).reshape(rows, -1)
