"""Time to first token of a writing task when ghost-text requests run in between.

A writer alternates: a suggestion (continue) on the document, then Shorten on a selection,
then another suggestion, then Summarize... With one cache following the last request, every
task recomputes its worked examples; with a kept snapshot per task prefix, only the writer's
text is computed. This prints both, on the same prompts, with the default model.

    .venv/bin/python benchmarks/task_prefix_cache.py [--rounds 6] [--threads 1]

Figures, not a pass/fail test."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inference.runtime import GenerationRequest, LocalModel, RuntimeSettings  # noqa: E402
from inference.runtime.tasks import INSTRUCTION_SAMPLING  # noqa: E402

PASSAGES = ROOT / "benchmarks" / "data" / "writing_passages.json"
TASKS = ("shorten", "summarize", "expand", "rewrite")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    passages = json.loads(PASSAGES.read_text(encoding="utf-8"))["passages"]
    document = "\n\n".join(p["text"] for p in passages[:8])
    model = LocalModel.load(None, RuntimeSettings(device="cpu", threads=args.threads))
    results: dict[str, list[tuple[float, int, int]]] = {"one cache": [], "prefix snapshots": []}
    for label, use_prefix in (("one cache", False), ("prefix snapshots", True)):
        model.generator.clear_cache()
        for index in range(args.rounds * len(TASKS)):
            task = TASKS[index % len(TASKS)]
            passage = passages[10 + index % 30]
            # A suggestion on the document runs first, as the editor does between tasks.
            ghost = model.plan(GenerationRequest("continue", before=document))
            model.generator.generate(
                ghost.token_ids, max_new_tokens=1, sampling=INSTRUCTION_SAMPLING
            )
            plan = model.plan(
                GenerationRequest(task, selection=passage["text"], notes=passage["notes"])
            )
            output = model.generator.generate(
                plan.token_ids,
                max_new_tokens=1,
                sampling=INSTRUCTION_SAMPLING,
                shared_prefix=plan.shared_prefix_tokens if use_prefix else 0,
            )
            if index >= len(TASKS):  # the first round fills the snapshots
                stats = output.stats
                results[label].append(
                    (stats.first_token_seconds, stats.prompt_tokens, stats.reused_tokens)
                )
    print(f"{model.folder.name} ({model.session.variant}) on {model.device_report.label()}")
    print(
        "| Cache | Task requests | Prompt tokens (mean) | Reused (mean) | TTFT median | TTFT mean |"
    )
    print("|---|---|---|---|---|---|")
    for label, rows in results.items():
        ttft = [r[0] * 1000 for r in rows]
        prompt = statistics.mean(r[1] for r in rows)
        reused = statistics.mean(r[2] for r in rows)
        print(
            f"| {label} | {len(rows)} | {prompt:.0f} | {reused:.0f} | "
            f"{statistics.median(ttft):.0f} ms | {statistics.mean(ttft):.0f} ms |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
