"""Learn my style, end to end: documents -> adapter -> held-out verdict -> adapted model.

Everything the run keeps stays in the user's data folder (``<data>/learn/<run>/``: the
checkpoint, the adapter, a result file with counts and figures, never text), except the
adapted model itself, which is a model folder in the local model cache. Nothing is
uploaded, and sync (which carries the library folder only) never sees any of it.

The verdict: the adapter is offered only when it lowers the perplexity of the held-out
documents (whole documents it never trained on) by at least ``MIN_IMPROVEMENT`` in
TensorFlow, and the exported 4-bit model confirms it, and its continuations fail the
writing-quality continue check no more often than the base model's."""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import math
import resource
import shutil
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from inference.export.learn.documents import (
    DocumentsError,
    Windows,
    find_and_split,
    tokenize_split,
)
from inference.export.learn.training import (
    CancelToken,
    LearnCancelled,
    Progress,
    Trainer,
    TrainingPlan,
    held_out_perplexity,
)
from inference.model_cache import APP_NAME, model_cache_root
from inference.model_folder import ModelFolder, sha256_file

log = logging.getLogger(__name__)

MIN_IMPROVEMENT = 0.01  # at least 1 % lower held-out perplexity, or it is not offered
ONNX_CHECK_TOKENS = 128  # held-out tokens the exported model is scored on
CONTINUE_PROMPTS = 3
CONTINUE_PROMPT_TOKENS = 48
CONTINUE_TOKENS = 32
RESULT_FILE = "result.json"
ADAPTER_FILE = "adapter.npz"
CHECKPOINT_DIR = "checkpoints"

ProgressCallback = Callable[[Progress], None]


class LearnError(Exception):
    """Learning could not run; the message says why in plain words."""


@dataclass
class LearnResult:
    documents_train: int
    documents_held_out: int
    tokens_train: int
    tokens_held_out: int
    steps: int
    resumed_from: int
    perplexity_base: float
    perplexity_adapted: float
    improvement: float  # 1 - adapted / base
    offered: bool
    sentence: str
    reason: str = ""
    model_path: str | None = None
    exported: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def learn_data_root() -> Path:
    """``<user data>/learn``: the same data folder as the app's backups (desktop.paths)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "learn"


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def result_sentence(improvement: float, offered: bool, reason: str = "") -> str:
    """The verdict in plain words ("Suggestions now predict your held-out documents 23 %
    better."); ``improvement`` is the relative drop in held-out perplexity."""
    percent = round(100 * improvement)
    if offered:
        return f"Suggestions now predict your held-out documents {percent} % better."
    if improvement >= MIN_IMPROVEMENT:
        return (
            f"Suggestions predict your held-out documents {percent} % better, but {reason}, "
            "so the adapted model is not offered."
        )
    if percent > 0:
        head = f"Suggestions predict your held-out documents only {percent} % better"
    else:
        head = "Suggestions do not predict your held-out documents any better"
    return f"{head}, so the adapted model is not offered."


def find_gguf(base: ModelFolder, gguf: Path | None) -> Path:
    """The base model's own GGUF: the one given, or the build's download in the cache."""
    source = base.manifest.get("source", {})
    if gguf is None:
        gguf = model_cache_root() / "sources" / str(source.get("file"))
        if not gguf.is_file():
            raise LearnError(
                f"The weights file {source.get('file')} the model was built from is not in "
                f"the model cache; pass it with --gguf."
            )
    if not Path(gguf).is_file():
        raise LearnError(f"The weights file {gguf} does not exist.")
    if source.get("sha256") and sha256_file(Path(gguf)) != source["sha256"]:
        raise LearnError(f"{Path(gguf).name} is not the file the model {base.name} was built from.")
    return Path(gguf)


def run_key(base: ModelFolder, split_digest: str, settings: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    digest.update(str(base.manifest.get("source", {}).get("sha256")).encode())
    digest.update(split_digest.encode())
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def _continue(decoder, ids: list[int], seed: int) -> list[int]:
    """A continuation as the app samples one (the runtime's continue settings, seeded)."""
    from inference.runtime.sampling import Sampler
    from inference.runtime.tasks import CONTINUE_SAMPLING

    sampler = Sampler(replace(CONTINUE_SAMPLING, seed=seed), context=ids)
    logits, cache = decoder.step(ids, decoder.empty_cache())
    out: list[int] = []
    for _ in range(CONTINUE_TOKENS):
        token = sampler.choose(logits)
        sampler.accept(token)
        out.append(token)
        logits, cache = decoder.step([token], cache)
    return out


def _continue_failures(decoder, tokenizer, held_out: Windows) -> int:
    """How many continuations of held-out openings fail the writing-quality continue check
    (non-empty, no loops, no repeated sentences). Its reasons quote text, so only the count
    is kept."""
    from inference.runtime.answer_check import check_answer
    from inference.runtime.tasks import Task

    failures = 0
    rows = np.linspace(0, len(held_out) - 1, min(CONTINUE_PROMPTS, len(held_out))).astype(int)
    for seed, row in enumerate(sorted(set(rows.tolist()))):
        count = int(held_out.weights[row].sum())
        ids = held_out.ids[row, : min(CONTINUE_PROMPT_TOKENS, max(count, 1))].tolist()
        before = tokenizer.decode(ids)
        answer = tokenizer.decode(_continue(decoder, ids, seed))
        if not check_answer(Task.CONTINUE, answer, source=before).passed:
            failures += 1
    return failures


def _onnx_perplexity(decoder, held_out: Windows) -> float:
    """Held-out perplexity of an exported model over the first ``ONNX_CHECK_TOKENS``."""
    stream = [int(held_out.ids[0, 0])]
    for row in range(len(held_out)):
        count = int(held_out.weights[row].sum())
        stream.extend(held_out.ids[row, 1 : count + 1].tolist())
    stream = stream[: ONNX_CHECK_TOKENS + 1]
    rows = decoder.logits_at_every_position(stream[:-1])
    shifted = rows - rows.max(-1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    nll = -logp[np.arange(len(stream) - 1), stream[1:]]
    return float(math.exp(nll.mean()))


def _check_exported(
    base: ModelFolder, adapted: ModelFolder, tokenizer, held_out: Windows
) -> dict[str, Any]:
    """The exported 4-bit models, base and adapted, on held-out text: perplexity over the
    first tokens, and sampled continuations through the writing-quality continue check."""
    from inference.export.checks import OnnxDecoder

    base_decoder = OnnxDecoder(base.variant_path(), base.architecture)
    adapted_decoder = OnnxDecoder(adapted.variant_path(), adapted.architecture)
    return {
        "perplexity_base": _onnx_perplexity(base_decoder, held_out),
        "perplexity_adapted": _onnx_perplexity(adapted_decoder, held_out),
        "continue_failures_base": _continue_failures(base_decoder, tokenizer, held_out),
        "continue_failures_adapted": _continue_failures(adapted_decoder, tokenizer, held_out),
        "continue_prompts": min(CONTINUE_PROMPTS, len(held_out)),
    }


def learn_style(
    folder: Path,
    *,
    base: ModelFolder,
    exclude: Collection[Path] = (),
    gguf: Path | None = None,
    plan: TrainingPlan | None = None,
    config: Any = None,
    work_root: Path | None = None,
    cache_root: Path | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> LearnResult:
    """Train, judge and (when it helped) export an adapter for the documents in ``folder``.

    Raises ``DocumentsError`` or ``LearnError`` (plain words) and ``LearnCancelled`` (the
    checkpoint is kept; the same call resumes it)."""
    from tokenizers import Tokenizer

    from inference.export.gguf_source import GGUFError, GGUFSource
    from inference.export.learn.adapted_export import (
        publish_adapted_model,
        stage_adapted_model,
    )
    from inference.export.learn.adapters import AdapterConfig, Adapters, load_frozen_base

    started = time.monotonic()
    plan = plan or TrainingPlan()
    config = config or AdapterConfig()
    report = progress or (lambda p: None)
    if plan.context > base.context_length:
        raise LearnError(f"The context is at most {base.context_length} tokens for this model.")
    split = find_and_split(folder, exclude)
    tokenizer = Tokenizer.from_file(str(base.tokenizer_path))
    separator = int(base.special_tokens.get("eos_token_id") or 0)
    train, held_out = tokenize_split(split, tokenizer, plan.context, separator)
    settings = {"plan": plan.as_dict(), "adapter": config.as_dict()}
    run_dir = (work_root or learn_data_root()) / run_key(base, split.digest(), settings)
    run_dir.mkdir(parents=True, exist_ok=True)

    report(Progress("load", 0, 1, None, None))
    try:
        source = GGUFSource(find_gguf(base, gguf))
    except GGUFError as error:
        raise LearnError(str(error)) from error
    model = load_frozen_base(source)
    adapters = Adapters.create(source.architecture, config)
    trainer = Trainer(model, adapters, train, plan, run_dir / CHECKPOINT_DIR)
    resumed_from = trainer.restore()
    trainer.run(report, cancel)  # raises LearnCancelled after saving

    def evaluating(done: int, total: int) -> None:
        report(Progress("evaluate", done, total, None, None))

    adapted = held_out_perplexity(model, adapters, held_out, plan.batch, evaluating)
    base_ppl = held_out_perplexity(model, None, held_out, plan.batch, evaluating)
    improvement = 1.0 - adapted / base_ppl
    arrays = adapters.arrays()
    stored = {f"{n}.{k}": v for n, p in arrays.items() for k, v in zip("ab", p, strict=True)}
    np.savez(run_dir / ADAPTER_FILE, **stored)  # type: ignore[arg-type]
    del model, trainer
    gc.collect()  # the float model (540 MB for the default) before the ONNX models load

    offered = improvement >= MIN_IMPROVEMENT
    reason = "" if offered else f"less than {round(100 * MIN_IMPROVEMENT)} % better"
    exported: dict[str, Any] = {}
    model_path: Path | None = None
    info = {
        "config": config.as_dict(),
        "plan": plan.as_dict(),
        "documents": {"train": len(split.train), "held_out": len(split.held_out)},
        "tokens": {"train": train.tokens, "held_out": held_out.tokens},
        "held_out": {
            "perplexity_base": base_ppl,
            "perplexity_adapted": adapted,
            "improvement": improvement,
        },
    }
    if offered:
        report(Progress("export", 0, 1, None, None))
        staged = stage_adapted_model(base, arrays, info, cache_root or model_cache_root())
        try:
            report(Progress("check", 0, 1, None, None))
            exported = _check_exported(base, ModelFolder.open(staged), tokenizer, held_out)
            if exported["perplexity_adapted"] >= exported["perplexity_base"]:
                offered, reason = False, "the exported 4-bit model does not confirm it"
            elif exported["continue_failures_adapted"] > exported["continue_failures_base"]:
                offered, reason = (
                    False,
                    "its continuations loop or repeat more often than before",
                )
            if offered:
                model_path = publish_adapted_model(staged, exported)
        finally:
            if staged.exists():
                shutil.rmtree(staged, ignore_errors=True)
    result = LearnResult(
        documents_train=len(split.train),
        documents_held_out=len(split.held_out),
        tokens_train=train.tokens,
        tokens_held_out=held_out.tokens,
        steps=plan.steps,
        resumed_from=resumed_from,
        perplexity_base=base_ppl,
        perplexity_adapted=adapted,
        improvement=improvement,
        offered=offered,
        sentence=result_sentence(improvement, offered, reason),
        reason=reason,
        model_path=str(model_path) if model_path else None,
        exported=exported,
        seconds=time.monotonic() - started,
        peak_rss_mb=peak_rss_mb(),
    )
    (run_dir / RESULT_FILE).write_text(json.dumps(result.as_dict(), indent=2), "utf-8")
    return result


__all__ = ["DocumentsError", "LearnCancelled", "LearnError", "LearnResult", "learn_style"]
