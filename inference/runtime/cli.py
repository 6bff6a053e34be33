"""``draftsmith generate`` and ``draftsmith devices``: the local AI from a shell.

Exit codes: 0 done; 1 unexpected failure (Python's own, with a traceback); 2 bad usage or
input (missing file, not UTF-8, empty text, bad values); 3 no usable model (missing or damaged:
rebuild it); 4 the forced device cannot be used; 130 interrupted (Ctrl+C stops within one
token)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_NO_MODEL = 3
EXIT_NO_DEVICE = 4
EXIT_INTERRUPTED = 130

_DEVICE_CHOICES = ("auto", "cpu", "cuda", "directml", "coreml")
_TASK_NAMES = (
    "continue",
    "rewrite",
    "shorten",
    "expand",
    "tone",
    "summarize",
    "brainstorm",
    "describe",
)


def register_commands(subparsers: Any) -> None:
    """Add ``generate`` and ``devices`` to the ``draftsmith`` command's sub-commands."""
    generate = subparsers.add_parser(
        "generate",
        help="run a writing task on a text file with the local model",
        description="Run a writing task on a UTF-8 text or Markdown file with the local model "
        "and stream the result to standard output.",
    )
    generate.add_argument(
        "--task",
        default="continue",
        metavar="TASK",
        help=f"one of: {', '.join(_TASK_NAMES)} (default: continue)",
    )
    generate.add_argument(
        "--file",
        required=True,
        metavar="PATH",
        help="the text to work on ('-' reads standard input); continue "
        "writes what comes after its end, other tasks work on all of it",
    )
    generate.add_argument(
        "--tone",
        help="for --task tone: formal, casual, friendly, confident, vivid, humorous or neutral",
    )
    generate.add_argument("--notes", metavar="PATH", help="a file with document notes to respect")
    generate.add_argument("--max-tokens", type=int, metavar="N", help="most tokens to write")
    generate.add_argument(
        "--temperature",
        type=float,
        metavar="T",
        help="0 gives the most predictable text; about 0.7 varied text",
    )
    generate.add_argument("--seed", type=int, help="random seed, for repeatable sampling")
    generate.add_argument(
        "--length",
        choices=("sentence", "paragraph"),
        default="paragraph",
        help="for continue: stop after a sentence or a paragraph",
    )
    _add_device_arguments(generate)
    generate.add_argument("--model", metavar="FOLDER", help="model folder (default: the built one)")
    generate.add_argument(
        "--context-tokens",
        type=int,
        metavar="N",
        help="context window to use (default 2048, at most the model's)",
    )
    generate.add_argument(
        "--no-drafts",
        action="store_true",
        help="one token per model run: no tokens guessed from the text so far (slower)",
    )
    generate.add_argument(
        "--json", action="store_true", help="print one JSON object with the result and timings"
    )
    generate.set_defaults(runtime_handler=run_generate)

    devices = subparsers.add_parser(
        "devices",
        help="show which device runs the local model",
        description="Show the device the local model runs on, and why a GPU is not used.",
    )
    _add_device_arguments(devices)
    devices.add_argument("--json", action="store_true", help="print the report as JSON")
    devices.set_defaults(runtime_handler=run_devices)


def _add_device_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        choices=_DEVICE_CHOICES,
        default="auto",
        help="where to run the model (default: auto, the GPU when usable)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="CPU threads (default: the number of physical cores)",
    )


def dispatch(args: argparse.Namespace) -> int | None:
    """Run the sub-command if it is one of ours; ``None`` when it is not."""
    handler = getattr(args, "runtime_handler", None)
    return handler(args) if handler is not None else None


def _error(message: str) -> None:
    print(f"draftsmith: {message}", file=sys.stderr)


def _read_text(name: str) -> str:
    if name == "-":
        data = sys.stdin.buffer.read()
        label = "standard input"
    else:
        path = Path(name)
        label = str(path)
        if path.is_dir():
            raise _InputError(f"{label} is a folder, not a text file.")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise _InputError(f"{label} does not exist.") from None
        except OSError as error:
            raise _InputError(f"cannot read {label}: {error.strerror or error}.") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _InputError(
            f"{label} is not UTF-8 text (byte 0x{data[error.start]:02x} at position "
            f"{error.start}). Save it as UTF-8 and try again."
        ) from None


class _InputError(Exception):
    pass


def _write(text: str) -> None:
    stream = sys.stdout
    try:
        stream.write(text)
    except UnicodeEncodeError:
        stream.buffer.write(text.encode("utf-8", "replace"))
    stream.flush()


def _failed(error: Exception) -> int:
    """Say what went wrong in plain words; the exit code for it."""
    from inference.runtime.errors import DeviceUnavailableError, ModelUnavailableError

    _error(str(error))
    if isinstance(error, ModelUnavailableError):
        return EXIT_NO_MODEL
    if isinstance(error, DeviceUnavailableError):
        return EXIT_NO_DEVICE
    return EXIT_USAGE  # bad input or values


def run_devices(args: argparse.Namespace) -> int:
    from inference.runtime.errors import RuntimeErrorBase
    from inference.runtime.providers import SessionSettings, choose_provider

    try:
        report = choose_provider(SessionSettings(device=args.device, threads=args.threads))
    except RuntimeErrorBase as error:
        return _failed(error)
    if args.json:
        _write(json.dumps(report.as_dict(), indent=2) + "\n")
    else:
        _write(report.describe() + "\n")
    return EXIT_OK


def run_generate(args: argparse.Namespace) -> int:
    from inference.runtime.errors import InvalidRequestError, RuntimeErrorBase
    from inference.runtime.local_model import LocalModel
    from inference.runtime.runtime_settings import DEFAULT_CONTEXT_TOKENS, RuntimeSettings
    from inference.runtime.tasks import MAX_NEW_TOKENS_LIMIT, Task

    try:
        text = _read_text(args.file)
        notes = _read_text(args.notes) if args.notes else ""
        task = Task.parse(args.task)
        request = _request(args, task, text, notes)
        request.validated()  # bad input is reported before the model loads
        settings = RuntimeSettings(
            device=args.device,
            threads=args.threads,
            context_tokens=args.context_tokens or DEFAULT_CONTEXT_TOKENS,
            lookup_drafts=not args.no_drafts,
        )
    except (_InputError, InvalidRequestError) as error:
        return _failed(error)
    if args.max_tokens is not None and args.max_tokens > MAX_NEW_TOKENS_LIMIT:
        _error(f"note: --max-tokens {args.max_tokens} lowered to {MAX_NEW_TOKENS_LIMIT}.")
    try:
        model = LocalModel.load(args.model, settings)
    except KeyboardInterrupt:
        _error("interrupted.")
        return EXIT_INTERRUPTED
    except RuntimeErrorBase as error:
        return _failed(error)

    cancel = threading.Event()
    previous = _install_interrupt(cancel)

    def on_restart(reason: str) -> None:
        _error(f"note: {reason}")
        if not args.json:
            _write("\n")  # what streamed so far is discarded: the new answer starts below

    try:
        result = model.run(
            request,
            on_text=None if args.json else _write,
            cancel=cancel,
            on_restart=on_restart,
        )
    except InvalidRequestError as error:
        return _failed(error)
    finally:
        _restore_interrupt(previous)
    if args.json:
        _write(
            json.dumps(
                {
                    "task": result.task.value,
                    "text": result.text,
                    "stop_reason": result.stop_reason,
                    "context_cut": result.context_cut,
                    "check": {
                        "passed": result.check.passed,
                        "reasons": list(result.check.reasons),
                        "method": result.check.method,
                        "attempts": result.check.attempts,
                    },
                    "timings": result.stats.as_dict(),
                    "device": model.device_report.as_dict(),
                    "model": model.folder.name,
                    "variant": model.session.variant,
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
    else:
        _write("\n")
        if sys.stderr.isatty():
            _error(
                f"{result.stats.generated_tokens} tokens, "
                f"{result.stats.decode_tokens_per_second:.1f} tokens/s on "
                f"{model.device_report.label()}"
            )
    if not result.cancelled and not result.check.passed:
        _error(f"warning: this answer failed its check: {result.check.summary}")
    elif result.check.method != "model":
        _error("note: the answer is sentences picked from your text (the model's own failed).")
    return EXIT_INTERRUPTED if result.cancelled else EXIT_OK


def _request(args: argparse.Namespace, task: Any, text: str, notes: str) -> Any:
    from inference.runtime.sampling import SamplingSettings
    from inference.runtime.tasks import GenerationRequest, Task, default_sampling

    sampling: SamplingSettings = default_sampling(task)
    if args.temperature is not None:
        sampling = replace(sampling, temperature=args.temperature)
    if args.seed is not None:
        sampling = replace(sampling, seed=args.seed)
    if task is Task.CONTINUE:
        return GenerationRequest(
            task,
            before=text,
            notes=notes,
            sampling=sampling,
            max_new_tokens=args.max_tokens,
            length=args.length,
        )
    return GenerationRequest(
        task,
        before=text,
        selection=text,
        notes=notes,
        tone=args.tone,
        sampling=sampling,
        max_new_tokens=args.max_tokens,
    )


def _install_interrupt(cancel: threading.Event) -> Any:
    if threading.current_thread() is not threading.main_thread():
        return None

    def on_interrupt(signum: int, frame: Any) -> None:
        cancel.set()

    return signal.signal(signal.SIGINT, on_interrupt)


def _restore_interrupt(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGINT, previous)
