"""Start-up of the installed app vs the app from source, in the same run: seconds from launch
until the editor window is up and the AI model is loaded ("AI model ready" in the debug log).

    PYTHONPATH=. .venv/bin/python benchmarks/installed_startup.py dist/draftsmith/draftsmith

Each start gets a fresh home folder (no settings), offscreen Qt, and the same model: the bundled
one for the installed app, the built one from the model cache for the source run. Runs
alternate (installed, source, installed, ...) so both see the same machine load; the medians and
their ratio are printed. Page caches are warm after the first pair (dropping them needs root)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READY = "AI model ready on"
RUNS = 3
TIMEOUT_S = 300


def time_to_ready(command: list[str], extra_env: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory(prefix="draftsmith-start-") as tmp:
        home = Path(tmp)
        env = {
            "HOME": str(home),
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CACHE_HOME": str(home / "cache"),
            **extra_env,
        }
        started = time.perf_counter()
        process = subprocess.Popen(
            [*command, "--debug", "--library", str(home / "library")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        try:
            for line in process.stderr:
                if READY in line:
                    return time.perf_counter() - started
                if time.perf_counter() - started > TIMEOUT_S:
                    break
            raise RuntimeError(f"{command[0]} never reported the model ready")
        finally:
            process.terminate()
            process.wait(30)


def main() -> int:
    installed = Path(sys.argv[1] if len(sys.argv) > 1 else "dist/draftsmith/draftsmith").resolve()
    from inference.model_cache import model_cache_root

    source_env = {
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "DRAFTSMITH_MODEL_CACHE": str(model_cache_root()),
    }
    source = [sys.executable, "-m", "desktop"]
    times: dict[str, list[float]] = {"installed": [], "source": []}
    for _ in range(RUNS):
        times["installed"].append(time_to_ready([str(installed)], {}))
        times["source"].append(time_to_ready(source, source_env))
    for name, values in times.items():
        print(f"{name:9} median {statistics.median(values):.2f} s  runs {values}")
    ratio = statistics.median(times["installed"]) / statistics.median(times["source"])
    print(f"installed / source: {ratio:.2f}  (cpu count {os.cpu_count()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
