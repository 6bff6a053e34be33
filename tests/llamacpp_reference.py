"""llama.cpp as the independent reference of the parity tests.

llama-cpp-python lives in its own environment (the benchmark's ``benchmarks/.env/llama``, or
the interpreter named by ``$DRAFTSMITH_LLAMA_PYTHON``); each call runs
``tests/llamacpp_worker.py`` there in a subprocess and reads its JSON answer."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from inference.export.checks import OnnxDecoder
from inference.model_folder import ModelFolder

ROOT = Path(__file__).resolve().parent.parent
PYTHON_ENV = "DRAFTSMITH_LLAMA_PYTHON"
DEFAULT_PYTHON = ROOT / "benchmarks" / ".env" / "llama" / "bin" / "python"
WORKER = Path(__file__).resolve().parent / "llamacpp_worker.py"
THREADS = 2
GREEDY_TOKENS = 8
PARITY_TEXT = (
    "The lighthouse keeper climbed the hundred and twelve steps every evening, counting "
    "them aloud. Café, naïve — “quotes”, 12,345 and 😀; 数字\tand  spaces.\n\nDone?"
)


class LlamaCppError(Exception):
    pass


@cache
def llama_python() -> tuple[Path | None, str]:
    """(the interpreter with llama_cpp, "") or (None, why the parity tests are skipped)."""
    named = os.environ.get(PYTHON_ENV)
    python = Path(named) if named else DEFAULT_PYTHON
    if not python.is_file():
        return None, (
            f"llama-cpp-python is not built ({python} does not exist): run "
            "`benchmarks/generation_vs_llamacpp.py` once to set it up, or point "
            f"${PYTHON_ENV} at a Python that has llama_cpp"
        )
    check = subprocess.run(
        [str(python), "-c", "import llama_cpp, numpy"], capture_output=True, text=True
    )
    if check.returncode != 0:
        last = (check.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"{python} cannot import llama_cpp ({last})"
    return python, ""


def _call(request: dict, timeout: float = 300) -> dict:
    python, why = llama_python()
    if python is None:
        raise LlamaCppError(why)
    done = subprocess.run(
        [str(python), str(WORKER)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "OMP_NUM_THREADS": str(THREADS)},
    )
    if done.returncode != 0:
        raise LlamaCppError(f"llama.cpp worker failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def quantize(
    source: Path, target: Path, ftype: str, pure: bool = True, timeout: float = 300
) -> Path:
    """``source`` (an F32/F16 GGUF) re-quantized by llama.cpp's own quantizer."""
    _call(
        {
            "op": "quantize",
            "source": str(source),
            "target": str(target),
            "ftype": ftype,
            "pure": pure,
            "threads": THREADS,
        },
        timeout,
    )
    return target


@dataclass
class Reference:
    tokens: list[list[int]]  # llama.cpp's ids for each text
    logits: np.ndarray  # [len(ids), vocab] after evaluating ids in one batch
    greedy: list[int]  # greedy continuation of ids
    pieces: list[bytes]  # every token's llama_token_to_piece (when asked for)


def run(
    gguf: Path, texts: list[str], ids: list[int], greedy_tokens: int, pieces: bool = False
) -> Reference:
    with tempfile.TemporaryDirectory(prefix="llamacpp-") as tmp:
        logits_path = Path(tmp) / "logits.npy"
        answer = _call(
            {
                "op": "run",
                "gguf": str(gguf),
                "texts": texts,
                "ids": ids,
                "greedy_tokens": greedy_tokens,
                "logits": str(logits_path),
                "threads": THREADS,
                "pieces": pieces,
            }
        )
        logits = np.load(logits_path) if ids else np.zeros((0, answer["n_vocab"]), np.float32)
    return Reference(
        answer["tokens"],
        logits,
        answer.get("greedy", []),
        [bytes.fromhex(piece) for piece in answer.get("pieces", [])],
    )


def compare(gguf_path: Path, folder: Path, variant: str, text: str = PARITY_TEXT) -> dict[str, Any]:
    """llama.cpp against Draftsmith's ``variant`` on ``text``: asserts equal token ids and
    returns the figures (top-1 agreement, logit gaps, whether greedy continuations match)."""
    model = ModelFolder.open(folder)
    tokenizer = Tokenizer.from_file(str(model.tokenizer_path))
    ids = tokenizer.encode(text, add_special_tokens=False).ids
    reference = run(gguf_path, [text], ids, GREEDY_TOKENS)
    assert reference.tokens[0] == ids, "llama.cpp tokenizes the text differently"
    decoder = OnnxDecoder(model.variant_path(variant), model.architecture)
    ours = decoder.logits_at_every_position(ids)
    theirs = reference.logits
    assert ours.shape == theirs.shape
    gap = np.abs(ours - theirs).max(-1)
    spread = theirs.std(-1)
    top = np.sort(theirs, -1)
    margin = top[:, -1] - top[:, -2]
    figures = {
        "positions": len(ids),
        "top1_agreement": float((ours.argmax(-1) == theirs.argmax(-1)).mean()),
        "max_abs_diff": float(gap.max()),
        "max_relative_diff": float((gap / spread).max()),
        "logit_spread": float(spread.mean()),
        # every position where llama.cpp's choice is clear beyond the gap must agree
        "decided_disagreements": int(
            ((ours.argmax(-1) != theirs.argmax(-1)) & (margin > 2 * gap)).sum()
        ),
    }
    figures["greedy_equal"] = decoder.greedy(ids, GREEDY_TOKENS) == reference.greedy
    if variant != "fp32" and "fp32" in model.variants:
        # Where the engines differ, which one strays from exact math on the same weights
        # (the fp32 variant: every block dequantized, float activations)?
        exact = OnnxDecoder(model.variant_path("fp32"), model.architecture)
        truth = exact.logits_at_every_position(ids)
        for name, logits in (("draftsmith", ours), ("llamacpp", theirs)):
            figures[f"{name}_vs_exact"] = float((np.abs(logits - truth).max(-1) / spread).max())
    return figures
