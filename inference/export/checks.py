"""Checks the build runs on every model it writes; a failed hard check fails the build.

1. The tokenizer holds the GGUF's vocabulary id for id and round-trips text exactly.
2. Float ONNX math reproduces the TensorFlow model's logits at every position (1e-3, plus
   5e-5 of the largest logit): the
   ``fp32`` variant, and the ``q4`` variant's graph with its MatMulNBits computing in float
   (its GGUF blocks dequantized), each on the weights it holds. The reference is the Keras
   model run one layer at a time (reference.py), so no check needs the model in float32.
3. Decoding with the KV cache (prefix, then a chunk, then single tokens) gives the same
   logits as recomputing the whole text (float: 1e-3; the shipped 4-bit: the same decision).
4. The 4-bit variant as shipped (int8 activations) picks the TensorFlow model's next token at
   nearly every position (88% top-1, 99% top-5 over 256 positions).
5. Greedy text for "The capital of France is" mentions Paris (the default model only)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from inference.embedding_table import EmbeddingTable
from inference.export.variant_files import embedding_table_entry
from inference.model_folder import EMBEDDINGS_INPUT, LOGIT_ROWS_INPUT, Architecture
from inference.process_environment import disable_onnxruntime_telemetry_events

log = logging.getLogger(__name__)

disable_onnxruntime_telemetry_events()  # the build's sessions are created in this module

PARITY_TOLERANCE = 1e-3
FLOAT_CACHE_TOLERANCE = 1e-3
# Float32 rounding grows with the logits' size and the depth: random-weight shapes with
# logits in the hundreds to thousands differ from TensorFlow by 2.5e-6 (1B: 16 layers, 5e-3)
# and 1.6e-5 (3B: 28 layers, 1.1e-2) of their largest logit. Both float tolerances get this
# share of the largest |logit| on top, about 3x the 3B's (1.5e-3 for the tiny test model,
# whose damaged rotary table moves a logit by 1.4e-2).
RELATIVE_FLOAT_TOLERANCE = 5e-5
# The 4-bit kernels quantize activations to int8 for single tokens but not for multi-token
# prefill, so cached and full logits differ by activation rounding: compare the decision.
QUANTIZED_CACHE_RELATIVE_TOLERANCE = 0.1
# The 4-bit variant's kernels quantize activations to int8 per 32-block, as llama.cpp does;
# that rounding (not the weights, which are bit-exact GGUF blocks) flips the top token where
# the float model hesitates (~93% top-1 agreement on SmolLM2). What must hold: the float
# model's choice is always among the 4-bit model's top 5, and the top token mostly agrees.
AGREEMENT_THRESHOLD = 0.88
TOP5_THRESHOLD = 0.99
AGREEMENT_POSITIONS = 256

SAMPLE_TEXT = (
    "The lighthouse keeper climbed the hundred and twelve steps every evening, counting "
    "them aloud the way his father had taught him. At the top he trimmed the wick, wiped "
    "the salt from the great lens, and wrote the weather in a ledger that nobody had read "
    "in years. Storms came in from the west; ships came less often. Still, each night the "
    "light turned, sweeping its long white arm across the water, as if the sea might forget "
    "where the rocks were without it. In the spring a letter arrived: the light would be "
    "automated by autumn. He read it twice, folded it into the ledger, and went on climbing. "
    "What would he do with his evenings? He thought of his sister in the city, of the "
    "garden he had never planted, of the boat rotting under its tarpaulin behind the shed. "
    "Café, naïve, 12,345 — “quotes” and emoji 🌊 too."
)
ROUND_TRIP_TEXTS = (
    SAMPLE_TEXT,
    "  two  spaces\tand\ttabs\n\nnew lines",
    "数字 123 😀👍🏽",
    "<|im_start|>user\nHello<|im_end|>",
)


class CheckFailed(Exception):
    """A built model failed a check it must pass."""


@dataclass
class CheckReport:
    results: dict[str, object] = field(default_factory=dict)


class OnnxDecoder:
    """The minimal cached decoding loop the checks need (batch of one)."""

    def __init__(self, path: Path, cfg: Architecture, threads: int = 2) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.cfg = cfg
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.outputs = [o.name for o in self.session.get_outputs()]
        entry = embedding_table_entry(path)  # the graph takes embeddings, not ids
        self.table = None if entry is None else EmbeddingTable(path.parent, entry)

    def close(self) -> None:
        """Release the session and the model it holds (the build's checks run one at a time)."""
        del self.session
        if self.table is not None:
            self.table.close()

    def __enter__(self) -> OnnxDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def empty_cache(self) -> list[np.ndarray]:
        empty = np.zeros([1, self.cfg.num_kv_heads, 0, self.cfg.head_dim], np.float32)
        return [empty] * (2 * self.cfg.num_layers)

    def step(self, ids: list[int], cache: list[np.ndarray]) -> tuple[np.ndarray, list]:
        start = cache[0].shape[2]
        token_ids = np.array([ids], np.int64)
        feeds = {
            "input_ids": token_ids,
            "attention_mask": np.ones([1, start + len(ids)], np.int64),
            "position_ids": np.arange(start, start + len(ids), dtype=np.int64)[None],
            LOGIT_ROWS_INPUT: np.array([1], np.int64),
        }
        if self.table is not None:
            feeds[EMBEDDINGS_INPUT] = self.table.lookup(token_ids)
        for i in range(self.cfg.num_layers):
            feeds[f"past_key_values.{i}.key"] = cache[2 * i]
            feeds[f"past_key_values.{i}.value"] = cache[2 * i + 1]
        values = dict(
            zip(
                self.outputs,
                self.session.run(None, {k: v for k, v in feeds.items() if k in self.inputs}),
                strict=True,
            )
        )
        cache = [
            values[f"present.{i}.{kind}"]
            for i in range(self.cfg.num_layers)
            for kind in ("key", "value")
        ]
        return values["logits"][0, -1], cache

    def logits_at_every_position(self, ids: list[int]) -> np.ndarray:
        cache = self.empty_cache()
        rows = np.empty([len(ids), self.cfg.vocab_size], np.float32)
        for position, token in enumerate(ids):
            rows[position], cache = self.step([token], cache)
        return rows

    def greedy(self, ids: list[int], count: int) -> list[int]:
        logits, cache = self.step(ids, self.empty_cache())
        out = []
        for _ in range(count):
            out.append(int(logits.argmax()))
            logits, cache = self.step([out[-1]], cache)
        return out


def check_tokenizer(tokenizer: Tokenizer, gguf_tokens: list[str], report: CheckReport) -> None:
    """The rebuilt tokenizer against the GGUF's own token list, then text round trips.

    A round trip alone would pass a tokenizer with two entries swapped (it decodes what it
    encodes); the id-for-id comparison catches that."""
    if tokenizer.get_vocab_size(with_added_tokens=True) != len(gguf_tokens):
        raise CheckFailed(
            f"tokenizer has {tokenizer.get_vocab_size(with_added_tokens=True)} tokens, "
            f"the GGUF {len(gguf_tokens)}"
        )
    for token_id, text in enumerate(gguf_tokens):
        expected = text or f"[EMPTY_{token_id}]"
        built = tokenizer.id_to_token(token_id)
        if built != expected:
            raise CheckFailed(f"tokenizer id {token_id} is {built!r}, the GGUF says {expected!r}")
    report.results["tokenizer_vocabulary"] = "ok"
    # A SentencePiece tokenizer puts a space before the text after each added token, as
    # llama.cpp does (gguf_tokenizer/spm_tokenizer.py), and decoding keeps it, as llama.cpp's.
    markers = [token.content for token in tokenizer.get_added_tokens_decoder().values()]
    normalizer = tokenizer.normalizer
    space_prefix = normalizer is not None and normalizer.normalize_str("x") != "x"
    for text in ROUND_TRIP_TEXTS:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        back = tokenizer.decode(ids, skip_special_tokens=False)
        for marker in markers if space_prefix else ():
            back = back.replace(marker + " ", marker)
        if back != text:
            raise CheckFailed(f"tokenizer does not round-trip {text[:30]!r}: got {back[:30]!r}")
    report.results["tokenizer_round_trip"] = "ok"


def check_float_parity(
    decoder: OnnxDecoder,
    reference_logits: np.ndarray,
    ids: list[int],
    report: CheckReport,
    variant: str = "fp32",
) -> None:
    """ONNX against TensorFlow at every position ([len(ids), vocab] reference), token by token
    and as one prefill (which only returns the last position). ``variant`` names the model
    in the report (``fp32``, or ``q4_float_activations``: the 4-bit graph computing in float)."""
    rows = decoder.logits_at_every_position(ids)
    prefill, _ = decoder.step(ids, decoder.empty_cache())
    per_position = np.abs(rows - reference_logits).max(-1)
    worst = int(per_position.argmax())
    diff = max(float(per_position[worst]), float(np.abs(prefill - reference_logits[-1]).max()))
    allowed = PARITY_TOLERANCE + RELATIVE_FLOAT_TOLERANCE * float(np.abs(reference_logits).max())
    report.results[f"{variant}_vs_tensorflow_max_abs_diff"] = diff
    report.results[f"{variant}_vs_tensorflow_positions"] = len(ids)
    if not diff < allowed:
        raise CheckFailed(
            f"ONNX logits differ from TensorFlow's by {diff:.2e} ({variant}; allowed "
            f"{allowed:.1e}; worst token by token at position {worst} of {len(ids)})"
        )


def check_cache(
    decoder: OnnxDecoder, variant: str, ids: list[int], report: CheckReport, exact: bool
) -> None:
    """Cached decoding against full recomputation: within float tolerance where the model
    computes in float (``exact``), the same decision where its kernels round activations."""
    full, _ = decoder.step(ids, decoder.empty_cache())
    split = max(1, len(ids) // 2)
    _, cache = decoder.step(ids[:split], decoder.empty_cache())
    _, cache = decoder.step(ids[split:-3], cache)
    for token in ids[-3:]:
        cached, cache = decoder.step([token], cache)
    diff = float(np.abs(full - cached).max())
    report.results[f"{variant}_cached_vs_full_max_abs_diff"] = diff
    if exact:
        ok = diff < FLOAT_CACHE_TOLERANCE + RELATIVE_FLOAT_TOLERANCE * float(np.abs(full).max())
    else:
        scale = float(np.abs(full).max())
        ok = full.argmax() == cached.argmax() and diff < QUANTIZED_CACHE_RELATIVE_TOLERANCE * scale
    if not ok:
        raise CheckFailed(
            f"{variant}: cached decoding differs from full recomputation by {diff:.2e}"
        )


def check_agreement(quantized: np.ndarray, reference: np.ndarray, report: CheckReport) -> None:
    """The shipped 4-bit model's next token against the float (TensorFlow) model's."""
    expected = reference.argmax(-1)
    agreement = float((quantized.argmax(-1) == expected).mean())
    top5 = np.argpartition(-quantized, 5, axis=-1)[:, :5]
    in_top5 = float((top5 == expected[:, None]).any(-1).mean())
    report.results["q4_vs_float_top1_agreement"] = agreement
    report.results["q4_top5_contains_float_top1"] = in_top5
    report.results["q4_vs_float_positions"] = len(reference)
    if agreement < AGREEMENT_THRESHOLD or in_top5 < TOP5_THRESHOLD:
        raise CheckFailed(
            f"4-bit variant agrees with float on the next token at {agreement:.1%} of "
            f"{len(reference)} positions (want {AGREEMENT_THRESHOLD:.0%}), and has the "
            f"float choice in its top 5 at {in_top5:.1%} (want {TOP5_THRESHOLD:.0%})"
        )


def check_paris(decoder: OnnxDecoder, tokenizer: Tokenizer, report: CheckReport) -> None:
    ids = tokenizer.encode("The capital of France is", add_special_tokens=False).ids
    text = tokenizer.decode(decoder.greedy(ids, 8))
    report.results["greedy_capital_of_france"] = text
    if "Paris" not in text:
        raise CheckFailed(f"greedy continuation of 'The capital of France is' was {text!r}")
