"""The build's memory does not grow with the model's float32 size.

The memory test builds two synthetic models that differ only in their vocabulary (4096 and
32768 tokens x 2048: 235 MB more float32 weights) one after the other in a fresh process;
the second build may raise the process's peak RSS by less than three times that float32
difference (measured +186 and +519 MB: the small build's own peak varies by ~300 MB from run
to run on a loaded machine, the large one's stayed at 1.46 GB). The pipeline that held the
TensorFlow model, an ``fp32`` reference variant and its check session in float32 raised it
by 1404 MB (2.66 GB peak), six times the difference."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.wide_gguf import WideShape, write_wide_gguf

ROOT = Path(__file__).resolve().parents[2]
SMALL = WideShape(hidden=2048, layers=1, heads=16, kv_heads=4, intermediate=512, vocab=4096)
LARGE = dataclasses.replace(SMALL, vocab=32768)
BUILDS = """
import resource, sys
from inference.export.build import build
for gguf, cache in zip(sys.argv[1::2], sys.argv[2::2]):
    build(gguf, cache_root=cache, variants=("q4",))
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def peak_rss_after_each(builds: list[tuple[Path, Path]]) -> list[int]:
    """Build each (gguf, cache) in turn in one fresh process: its peak RSS after each."""
    arguments = [str(p) for pair in builds for p in pair]
    done = subprocess.run(
        [sys.executable, "-c", BUILDS, *arguments],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [int(line) for line in done.stdout.split()[-len(builds) :]]


@pytest.mark.timeout(1200)
def test_peak_memory_grows_by_less_than_three_float32_copies(tmp_path: Path) -> None:
    # The small build first: the process's fixed costs (TensorFlow, the proxy conversion of
    # this layout, onnxruntime) are paid before the large one, which differs only in size.
    builds = [
        (write_wide_gguf(tmp_path / f"vocab{s.vocab}.gguf", s), tmp_path / f"cache{s.vocab}")
        for s in (SMALL, LARGE)
    ]
    small, large = peak_rss_after_each(builds)
    extra_float32 = 4 * (LARGE.parameters() - SMALL.parameters())
    growth = large - small
    assert growth < 3 * extra_float32, (
        f"the larger model raised the build's peak RSS by {growth / 1e6:.0f} MB for "
        f"{extra_float32 / 1e6:.0f} MB more float32 weights ({small / 1e6:.0f} -> "
        f"{large / 1e6:.0f} MB)"
    )
