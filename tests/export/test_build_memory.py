"""The build's memory does not grow with the model's float32 size.

Two synthetic models that differ only in their vocabulary (4096 and 131072 tokens x 1024:
512 MB more float32 weights) are built in fresh processes; the larger one's peak RSS may
exceed the smaller one's by less than half of that float32 difference. The pipeline that
held the TensorFlow model, an ``fp32`` reference variant and its session in float32 grew by
several times the difference (tests/export/README figures: see the README's "Other models"
section); the streamed reference, q4-only checks and one session at a time keep the growth
to the 8-bit table's own copies."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from tests.wide_gguf import WideShape, write_wide_gguf

ROOT = Path(__file__).resolve().parents[2]
SMALL = WideShape(hidden=1024, layers=1, heads=8, kv_heads=2, intermediate=1024, vocab=4096)
LARGE = dataclasses.replace(SMALL, vocab=131072)
BUILD = """
import resource, sys
from inference.export.build import build
build(sys.argv[1], cache_root=sys.argv[2], variants=("q4",))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def peak_rss(gguf: Path, cache: Path) -> int:
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", BUILD, str(gguf), str(cache)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.split()[-1])


def test_peak_memory_grows_less_than_the_float32_weights(tmp_path: Path) -> None:
    peaks = {}
    for shape in (SMALL, LARGE):
        path = write_wide_gguf(tmp_path / f"vocab{shape.vocab}.gguf", shape)
        peaks[shape.vocab] = peak_rss(path, tmp_path / f"cache{shape.vocab}")
    extra_float32 = 4 * (LARGE.parameters() - SMALL.parameters())
    growth = peaks[LARGE.vocab] - peaks[SMALL.vocab]
    print(f"peaks {peaks}, growth {growth / 1e6:.0f} MB for {extra_float32 / 1e6:.0f} MB float32")
    assert growth < 0.5 * extra_float32, (
        f"peak RSS grew by {growth / 1e6:.0f} MB for {extra_float32 / 1e6:.0f} MB more float32 "
        f"weights (peaks {peaks[SMALL.vocab] / 1e6:.0f} and {peaks[LARGE.vocab] / 1e6:.0f} MB)"
    )
