"""``draftsmith-model learn FOLDER``: learn the writer's style in this process, print
progress with time left, and end with a meaningful exit status.

Exit status: 0 the adapted model is ready (and offered), 4 it did not help enough (not
offered), 3 cancelled (SIGINT/SIGTERM; the checkpoint is kept and the same command resumes),
2 the documents or the model cannot be used, 1 anything else.

``--json`` prints one JSON object a line (``{"event": "progress", ...}``, then
``{"event": "result", ...}`` or ``{"event": "error", ...}``) for the app's dialog."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

EXIT_OFFERED = 0
EXIT_FAILED = 1
EXIT_UNUSABLE = 2
EXIT_CANCELLED = 3
EXIT_NOT_IMPROVED = 4

PHASES = {
    "load": "Loading the model",
    "train": "Learning",
    "evaluate": "Measuring on held-out documents",
    "export": "Writing the adapted model",
    "check": "Checking the adapted model",
}


def add_parser(commands: Any) -> None:
    learn = commands.add_parser(
        "learn", help="adapt the model to the writing in a folder (LoRA, on this computer)"
    )
    learn.add_argument("folder", type=Path, help="folder of .md/.txt documents (or a library)")
    learn.add_argument(
        "--exclude",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="a document (relative to FOLDER) that is not your writing; repeatable",
    )
    learn.add_argument("--model", type=Path, help="base model folder (default: the default)")
    learn.add_argument("--gguf", type=Path, help="the base model's GGUF (default: from cache)")
    learn.add_argument("--steps", type=int, default=None, help="training steps (default 40)")
    learn.add_argument("--batch", type=int, default=None, help="windows per step (default 4)")
    learn.add_argument("--context", type=int, default=None, help="tokens a window (default 128)")
    learn.add_argument("--learning-rate", type=float, default=None, help="Adam step (1e-3)")
    learn.add_argument("--rank", type=int, default=None, help="adapter rank (default 8)")
    learn.add_argument(
        "--targets", default=None, help="comma-separated projections (default: all seven)"
    )
    learn.add_argument("--threads", type=int, default=0, help="CPU threads (default: all)")
    learn.add_argument("--json", action="store_true", help="one JSON object per line")
    learn.add_argument("--work-dir", type=Path, help="checkpoints and adapter (default: data)")
    learn.add_argument("--cache-dir", type=Path, help="model cache for the adapted model")
    learn.set_defaults(handler=run)


class Output:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self._phase = ""

    def emit(self, event: str, **values: Any) -> None:
        if self.as_json:
            print(json.dumps({"event": event, **values}), flush=True)

    def progress(self, progress) -> None:
        values = {
            "phase": progress.phase,
            "label": PHASES.get(progress.phase, progress.phase),
            "step": progress.step,
            "steps": progress.steps,
            "loss": progress.loss,
            "seconds_left": progress.seconds_left,
        }
        if self.as_json:
            self.emit("progress", **values)
            return
        if progress.phase == "train":
            left = _duration(progress.seconds_left)
            print(
                f"Learning: step {progress.step}/{progress.steps}, loss {progress.loss:.3f}"
                f", {f'about {left} left' if left else 'estimating the time left'}",
                flush=True,
            )
        elif progress.phase != self._phase:
            print(f"{PHASES.get(progress.phase, progress.phase)}…", flush=True)
        self._phase = progress.phase

    def message(self, text: str) -> None:
        if self.as_json:
            self.emit("message", text=text)
        else:
            print(text, flush=True)

    def error(self, text: str) -> None:
        if self.as_json:
            self.emit("error", text=text)
        print(f"draftsmith-model: {text}", file=sys.stderr, flush=True)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{round(seconds / 60)} min"


def run(args: argparse.Namespace) -> int:
    """Ctrl+C and SIGTERM (the app's Cancel) stop after the current step, with a checkpoint."""
    cancel = threading.Event()

    def stop(_signum, _frame) -> None:
        cancel.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _learn(args, cancel)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _learn(args: argparse.Namespace, cancel: threading.Event) -> int:
    out = Output(args.json)
    from inference.model_folder import ModelFolder, ModelFolderError, find_default_model

    try:
        base = ModelFolder.open(args.model) if args.model else find_default_model()
    except ModelFolderError as error:
        out.error(str(error))
        return EXIT_UNUSABLE
    if base is None:
        out.error("No model is built yet; run `draftsmith-model build` first.")
        return EXIT_UNUSABLE
    if "adapter" in base.manifest:
        out.error(f"{base.name} is already an adapted model; learn from its base model.")
        return EXIT_UNUSABLE

    from inference.export.learn.documents import DocumentsError, find_and_split

    try:  # before TensorFlow's ~10 s start: too few documents or words is said at once
        find_and_split(args.folder, args.exclude)
    except DocumentsError as error:
        out.error(str(error))
        return EXIT_UNUSABLE

    out.message("Starting the learning tools (TensorFlow)…")
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    # TensorFlow places the work on a GPU it can see by itself (the tensorflow-cpu wheel sees none).
    gpus = tf.config.list_physical_devices("GPU")
    out.message(f"Learning on {'the GPU' if gpus else 'the CPU'}.")

    from inference.export.learn.adapted_export import AdapterExportError
    from inference.export.learn.adapters import ALL_PARTS, AdapterConfig
    from inference.export.learn.style_learning import LearnError, learn_style
    from inference.export.learn.training import LearnCancelled, TrainingPlan

    plan_values = {
        "steps": args.steps,
        "batch": args.batch,
        "context": args.context,
        "learning_rate": args.learning_rate,
    }
    plan = TrainingPlan(**{k: v for k, v in plan_values.items() if v is not None})
    adapter_values: dict[str, Any] = {}
    if args.rank:
        adapter_values["rank"] = args.rank
        adapter_values["alpha"] = 2.0 * args.rank
    if args.targets:
        targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
        unknown = sorted(set(targets) - set(ALL_PARTS))
        if unknown:
            out.error(f"Unknown targets {', '.join(unknown)}; choose from {', '.join(ALL_PARTS)}.")
            return EXIT_UNUSABLE
        adapter_values["targets"] = targets
    if plan.steps < 1 or plan.batch < 1 or plan.context < 8:
        out.error("Steps and batch must be at least 1, and the context at least 8 tokens.")
        return EXIT_UNUSABLE
    try:
        result = learn_style(
            args.folder,
            base=base,
            exclude=args.exclude,
            gguf=args.gguf,
            plan=plan,
            config=AdapterConfig(**adapter_values),
            work_root=args.work_dir,
            cache_root=args.cache_dir,
            progress=out.progress,
            cancel=cancel,
        )
    except LearnCancelled as cancelled:
        out.emit("cancelled", step=cancelled.step)
        out.message(f"Cancelled at step {cancelled.step}; run the same command to resume.")
        return EXIT_CANCELLED
    except (DocumentsError, LearnError) as error:
        out.error(str(error))
        return EXIT_UNUSABLE
    except (OSError, FloatingPointError, ValueError, AdapterExportError) as error:
        out.error(f"Learning failed: {error}")
        return EXIT_FAILED
    if args.json:
        out.emit("result", **result.as_dict())
    else:
        print(result.sentence)
        print(
            f"  held-out perplexity {result.perplexity_base:.2f} -> "
            f"{result.perplexity_adapted:.2f} ({result.documents_train} documents learned, "
            f"{result.documents_held_out} held out)"
        )
        if result.resumed_from:
            print(f"  resumed from step {result.resumed_from}")
        print(f"  {result.seconds / 60:.1f} min, peak memory {result.peak_rss_mb:.0f} MB")
        if result.model_path:
            print(f"  adapted model: {result.model_path}")
    return EXIT_OFFERED if result.offered else EXIT_NOT_IMPROVED
