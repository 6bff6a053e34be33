"""Writing-quality suite: every task over a development set of passages, with the answer checks.

Runs the runtime exactly as the editor does (default settings, retries and fallbacks) on the
passages in ``benchmarks/data/writing_passages.json`` (fiction, memoir, essay, business,
technical, dialogue; each with notes holding its names) and prints, per task, how often the
model's first answer passed, how often the model's own answer passed after retries, how often
what the writer receives passed (fallbacks included), plus continue's non-empty and loop-free
rates and distinct-2. An independent audit counts prompt leaks and talk about "the text" in
anything that passed.

    .venv/bin/python benchmarks/writing_quality.py                      # all, 3 seeds
    .venv/bin/python benchmarks/writing_quality.py --passages 40 --seeds 1 --tasks shorten,summarize
    .venv/bin/python benchmarks/writing_quality.py --out /tmp/answers.json   # every answer, to read
    .venv/bin/python benchmarks/writing_quality.py --record   # store the rates for weak_tasks()

Figures, not a pass/fail test."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inference.runtime import GenerationRequest, LocalModel, RuntimeSettings  # noqa: E402
from inference.runtime.answer_check import (  # noqa: E402
    COMMON_RULES,
    RULES,
    distinct_2,
    word_count,
)
from inference.runtime.few_shot import all_example_texts  # noqa: E402
from inference.runtime.measured_quality import (  # noqa: E402
    EXPAND_PATTERN_FIRST_PASS,
    expand_pattern_first_pass,
    record,
)
from inference.runtime.tasks import (  # noqa: E402
    TONES,
    Task,
    default_sampling,
)

PASSAGES = ROOT / "benchmarks" / "data" / "writing_passages.json"
# Independent of the checker's own patterns: words that only a leaked prompt or talk about the
# text would bring into an answer.
_AUDIT = re.compile(
    r"\b(?:the|this) (?:original )?(?:text|passage|excerpt)\b|\brewrite\b|\bshorten\b|"
    r"\bsummari[sz]e\b|\bwriter's notes\b|^\s*(?:long|short|text|summary|brief|detailed|draft|"
    r"polished|original|subject|description|story|ideas|notes)\s*:|<\|",
    re.IGNORECASE | re.MULTILINE,
)


def audit_problem(answer: str, source: str) -> str | None:
    """A leak or talk about the text that the source itself does not explain."""
    match = _AUDIT.search(answer)
    if match and not re.search(re.escape(match.group(0).strip()), source, re.IGNORECASE):
        return match.group(0)
    flat = " ".join(answer.lower().split())
    for example in all_example_texts():
        words = example.lower().split()
        for start in range(0, max(1, len(words) - 5)):
            gram = " ".join(words[start : start + 6])
            if len(words) >= 6 and gram in flat and gram not in source.lower():
                return gram
    return None


def build_request(task: Task, passage: dict[str, Any], seed: int, index: int) -> GenerationRequest:
    text, notes = passage["text"], passage["notes"]
    sampling = replace(default_sampling(task), seed=seed)  # what the app asks with
    if task is Task.CONTINUE:
        return GenerationRequest(task, before=text, notes=notes, sampling=sampling)
    selection = text
    if task is Task.DESCRIBE:  # a subject: the passage's first sentence
        selection = re.split(r"(?<=[.!?])\s+", text, maxsplit=1)[0]
    tone = list(TONES)[index % len(TONES)] if task is Task.CHANGE_TONE else None
    return GenerationRequest(
        task, before=text, selection=selection, notes=notes, tone=tone, sampling=sampling
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=0, help="use the first N (default: all)")
    parser.add_argument("--skip", type=int, default=0, help="skip the first N passages")
    parser.add_argument("--every", type=int, default=1, help="take every Nth passage")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per passage (default 3)")
    parser.add_argument("--tasks", default="", help="comma-separated tasks (default: all)")
    parser.add_argument("--model", help="model folder (default: the built default model)")
    parser.add_argument("--threads", type=int, help="CPU threads (default: physical cores)")
    parser.add_argument("--out", help="write every answer and its check to this JSON file")
    parser.add_argument(
        "--no-drafts", action="store_true", help="one token per model run (no drafted tokens)"
    )
    parser.add_argument(
        "--record", action="store_true", help="store the pass rates for LocalModel.weak_tasks()"
    )
    parser.add_argument(
        "--merge",
        nargs="+",
        metavar="JSON",
        help="combine the answers of earlier --out files (e.g. runs split by task) instead of "
        "running",
    )
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args)

    passages = json.loads(PASSAGES.read_text(encoding="utf-8"))["passages"][args.skip :: args.every]
    if args.passages:
        passages = passages[: args.passages]
    tasks = [Task.parse(t) for t in args.tasks.split(",") if t] or list(Task)
    settings = RuntimeSettings(device="cpu", threads=args.threads, lookup_drafts=not args.no_drafts)
    model = LocalModel.load(args.model, settings)
    print(
        f"model {model.folder.name} ({model.session.variant}) on {model.device_report.label()}; "
        f"{len(passages)} passages x {args.seeds} seeds x {len(tasks)} tasks",
        file=sys.stderr,
    )
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for task in tasks:
        for index, passage in enumerate(passages):
            for seed in range(args.seeds):
                request = build_request(task, passage, seed + 1, index)
                restarts: list[str] = []
                began = time.perf_counter()
                result = model.run(request, on_restart=restarts.append)
                seconds = time.perf_counter() - began
                source = request.selection or request.before
                first_passed = not restarts
                model_passed = result.check.passed and result.check.method == "model"
                row = {
                    "task": task.value,
                    "passage": passage["id"],
                    "genre": passage["genre"],
                    "seed": seed + 1,
                    "tone": request.tone,
                    "text": result.text,
                    "passed": result.check.passed,
                    "method": result.check.method,
                    "attempts": result.check.attempts,
                    "reasons": list(result.check.reasons),
                    "restarts": restarts,
                    "first_passed": first_passed,
                    "model_passed": model_passed,
                    "source_words": word_count(source),
                    "answer_words": word_count(result.text),
                    "seconds": round(seconds, 2),
                    "audit": audit_problem(result.text, source + " " + request.notes)
                    if result.check.passed
                    else None,
                }
                rows.append(row)
                if args.out:  # kept up to date, so a stopped run still leaves its answers
                    Path(args.out).write_text(
                        json.dumps({"answers": rows}, ensure_ascii=False), encoding="utf-8"
                    )
                mark = "ok" if result.check.passed else "FAIL"
                print(
                    f"{task.value:10} {passage['id']:13} seed {seed + 1} {mark:4} "
                    f"{result.check.method:10} {row['source_words']}->{row['answer_words']}w "
                    f"{seconds:.1f}s {'; '.join(result.check.reasons)[:80]}",
                    file=sys.stderr,
                    flush=True,
                )
    elapsed = time.perf_counter() - started
    summary = summarize(rows, model, len(passages), args.seeds, elapsed)
    report(args, model, summary, rows)
    return 0


def merge(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    seconds = 0.0
    counts = set()
    for name in args.merge:
        data = json.loads(Path(name).read_text(encoding="utf-8"))
        rows.extend(data["answers"])
        seconds += data["summary"]["seconds"]
        counts.add((data["summary"]["passages"], data["summary"]["seeds"]))
    passages, seeds = max(counts)
    model = LocalModel.load(args.model, RuntimeSettings(device="cpu", threads=1))
    summary = summarize(rows, model, passages, seeds, seconds)
    report(args, model, summary, rows)
    return 0


def report(
    args: argparse.Namespace,
    model: LocalModel,
    summary: dict[str, Any],
    rows: list[dict[str, Any]],
) -> None:
    """Print the table; write the answers (--out) and the model's weak tasks (--record)."""
    print_table(summary)
    if args.out:
        Path(args.out).write_text(
            json.dumps({"summary": summary, "answers": rows}, indent=2, ensure_ascii=False),
            encoding="utf-8",
        )
    if args.record:
        expand = summary["tasks"].get(Task.EXPAND.value)
        if expand is not None:  # what the worked-example prompt does when it goes first
            expand[EXPAND_PATTERN_FIRST_PASS] = (
                expand_pattern_first_pass(model.folder.manifest)
                if model.expand_continues_first
                else expand["first_attempt_pass"]
            )
        record(model.folder.manifest, summary)
        print("recorded for weak_tasks()", file=sys.stderr)


def summarize(
    rows: list[dict[str, Any]], model: LocalModel, passages: int, seeds: int, elapsed: float
) -> dict[str, Any]:
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_task[row["task"]].append(row)
    tasks: dict[str, dict[str, Any]] = {}
    for name, items in by_task.items():
        n = len(items)
        task = Task(name)
        stats: dict[str, Any] = {
            "runs": n,
            "first_attempt_pass": sum(r["first_passed"] for r in items) / n,
            "model_pass": sum(r["model_passed"] for r in items) / n,
            "final_pass": sum(r["passed"] for r in items) / n,
            "extractive": sum(r["method"] == "extractive" for r in items) / n,
            "audit_problems_in_passed": sum(1 for r in items if r["audit"]),
            "mean_seconds": round(sum(r["seconds"] for r in items) / n, 2),
            "rule": RULES[task],
        }
        ratio = [r["answer_words"] / max(r["source_words"], 1) for r in items]
        if task in (Task.SHORTEN, Task.SUMMARIZE):
            stats["shorter"] = sum(x < 1 for x in ratio) / n
        if task is Task.EXPAND:
            stats["longer"] = sum(x > 1 for x in ratio) / n
        if task is Task.CONTINUE:
            stats["non_empty"] = sum(bool(r["text"].strip()) for r in items) / n
            stats["non_empty_and_loop_free"] = sum(r["passed"] for r in items) / n
            stats["new_paragraph"] = sum(r["text"].startswith("\n\n") for r in items) / n
            # Prose, not "1950s:" or "21." (what a paragraph break the model reads as the end
            # of a document led to).
            openings = [r["text"].lstrip()[:1] for r in items if r["text"].startswith("\n\n")]
            stats["new_paragraph_opens_with_words"] = sum(
                c.isalpha() or c in "\"“‘'" for c in openings
            ) / max(len(openings), 1)
            stats["mean_distinct_2"] = round(sum(distinct_2(r["text"]) for r in items) / n, 3)
        tasks[name] = stats
    return {
        "model": model.folder.name,
        "variant": model.session.variant,
        "passages": passages,
        "seeds": seeds,
        "seconds": round(elapsed, 1),
        "measured": time.strftime("%Y-%m-%d"),
        "model_pass_rate": {k: round(v["model_pass"], 3) for k, v in tasks.items()},
        "tasks": tasks,
    }


def print_table(summary: dict[str, Any]) -> None:
    print(
        f"\n{summary['model']} ({summary['variant']}), {summary['passages']} passages x "
        f"{summary['seeds']} seeds, {summary['seconds']} s\n"
    )
    print(
        "| Task | Runs | 1st answer passes | Model's answer passes (<= 3 tries) | Writer gets a "
        "passing answer | Of which extractive | Leaks/meta in passing | Rule |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, s in summary["tasks"].items():
        print(
            f"| {name} | {s['runs']} | {s['first_attempt_pass']:.0%} | {s['model_pass']:.0%} | "
            f"{s['final_pass']:.0%} | {s['extractive']:.0%} | {s['audit_problems_in_passed']} | "
            f"{s['rule']} |"
        )
    print(f"\n{COMMON_RULES[0].upper()}{COMMON_RULES[1:]}.")
    for name, s in summary["tasks"].items():
        extra = {
            k: s[k]
            for k in (
                "shorter",
                "longer",
                "non_empty",
                "non_empty_and_loop_free",
                "new_paragraph",
                "new_paragraph_opens_with_words",
                "mean_distinct_2",
            )
            if k in s
        }
        if extra:
            print(
                f"{name}: "
                + ", ".join(f"{k} {v:.0%}" if v <= 1 else f"{k} {v}" for k, v in extra.items())
            )


if __name__ == "__main__":
    raise SystemExit(main())
