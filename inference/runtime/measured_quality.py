"""Measured pass rates of the writing tasks per model, and the tasks a model does poorly.

``benchmarks/writing_quality.py --record`` runs every task over a development set of
passages and stores, per model source (the GGUF's sha256 in the model manifest), how often
the model's own answer passed its check. The AI menu marks a task whose rate is below
``WEAK_BELOW`` instead of pretending; a model never measured has no marks."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from inference.runtime.tasks import Task

log = logging.getLogger(__name__)

MEASUREMENTS_PATH = Path(__file__).with_name("measured_quality.json")
WEAK_BELOW = 0.5
WEAK_NOTE = "works better with a larger model"


def load_measurements(path: Path = MEASUREMENTS_PATH) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        log.warning("measured pass rates unreadable (%s)", error)
        return {}
    return data if isinstance(data, dict) else {}


def source_key(manifest: dict[str, Any]) -> str:
    source = manifest.get("source")
    return str(source.get("sha256") or "") if isinstance(source, dict) else ""


def _measured(manifest: dict[str, Any], path: Path) -> dict[str, Any]:
    """The stored summary for the model ``manifest`` describes, or {} if never measured."""
    key = source_key(manifest)
    entry = load_measurements(path).get(key) if key else None
    return entry if isinstance(entry, dict) else {}


# How often Expand's worked-example prompt passed at its first try: measured while that prompt
# went first, and carried over by later measurements that start with the continuation instead.
EXPAND_PATTERN_FIRST_PASS = "pattern_first_attempt_pass"


def expand_pattern_first_pass(
    manifest: dict[str, Any], path: Path = MEASUREMENTS_PATH
) -> float | None:
    """The stored ``EXPAND_PATTERN_FIRST_PASS`` of this model (None: never measured)."""
    tasks = _measured(manifest, path).get("tasks")
    figures = tasks.get(Task.EXPAND.value) if isinstance(tasks, dict) else None
    rate = figures.get(EXPAND_PATTERN_FIRST_PASS) if isinstance(figures, dict) else None
    return float(rate) if isinstance(rate, int | float) else None


def weak_tasks_for(manifest: dict[str, Any], path: Path = MEASUREMENTS_PATH) -> dict[Task, str]:
    """Tasks whose measured model pass rate is below ``WEAK_BELOW``, with the menu note."""
    rates = _measured(manifest, path).get("model_pass_rate")
    if not isinstance(rates, dict):
        return {}
    weak: dict[Task, str] = {}
    for name, rate in rates.items():
        try:
            task = Task.parse(name)
        except ValueError:
            continue
        if isinstance(rate, int | float) and rate < WEAK_BELOW:
            weak[task] = WEAK_NOTE
    return weak


def record(
    manifest: dict[str, Any], summary: dict[str, Any], path: Path = MEASUREMENTS_PATH
) -> None:
    """Store a benchmark's summary for the model ``manifest`` describes."""
    data = load_measurements(path)
    data[source_key(manifest)] = summary
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
