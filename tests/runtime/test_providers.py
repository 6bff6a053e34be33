"""Device choice on this machine, decided from created sessions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import onnxruntime as ort
import pytest

from inference.runtime import DeviceUnavailableError, InvalidRequestError, SessionSettings
from inference.runtime.providers import (
    CPU,
    CUDA,
    choose_provider,
    cuda_device_name,
    physical_cores,
    session_options,
)

HAS_GPU = bool(cuda_device_name())


def test_physical_cores_is_a_sane_count() -> None:
    import os

    assert 1 <= physical_cores() <= (os.cpu_count() or 1)


def test_auto_uses_the_provider_a_real_session_reports() -> None:
    report = choose_provider(SessionSettings())
    assert report.provider in ort.get_available_providers()
    if not HAS_GPU:
        assert report.provider == CPU
        assert report.label() == f"CPU, {physical_cores()} threads"
        if CUDA in ort.get_available_providers():
            # onnxruntime lists CUDA here although it cannot start: say why, in words.
            assert report.gpu_unavailable_reason
            assert "GPU" in report.gpu_unavailable_reason or "CUDA" in report.gpu_unavailable_reason
            assert "Why no GPU" in report.describe()


@pytest.mark.skipif(HAS_GPU, reason="this machine has a usable NVIDIA GPU")
def test_forcing_cuda_without_a_gpu_is_a_clear_error() -> None:
    with pytest.raises(DeviceUnavailableError, match="--device auto or cpu"):
        choose_provider(SessionSettings(device="cuda"))


def test_forcing_cpu_never_tries_a_gpu() -> None:
    report = choose_provider(SessionSettings(device="cpu", threads=1))
    assert report.provider == CPU and report.threads == 1
    assert [a.provider for a in report.attempts] == [CPU]
    assert report.gpu_unavailable_reason is None


def test_thread_count_and_spinning_reach_the_session_options() -> None:
    options = session_options(SessionSettings(threads=3, allow_spinning=False))
    assert options.intra_op_num_threads == 3
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_idle_threads_spin_only_briefly_by_default() -> None:
    """Unbounded spinning halved decode speed on a loaded machine (issue 18): by default a
    worker spins 50 us, enough to bridge one step's kernels, then sleeps."""
    options = session_options(SessionSettings(threads=2))
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    assert options.get_session_config_entry("session.intra_op.spin_duration_us") == "50"
    longer = session_options(SessionSettings(threads=2, spin_duration_us=1000))
    assert longer.get_session_config_entry("session.intra_op.spin_duration_us") == "1000"
    unbounded = session_options(SessionSettings(threads=2, spin_duration_us=None))
    with pytest.raises(RuntimeError):  # not set: onnxruntime's own (unbounded) spinning
        unbounded.get_session_config_entry("session.intra_op.spin_duration_us")


@pytest.mark.parametrize(
    "bad",
    [{"device": "tpu"}, {"threads": 0}, {"optimization": "max"}, {"spin_duration_us": -1}],
)
def test_bad_session_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidRequestError):
        SessionSettings(**bad)  # type: ignore[arg-type]


def test_report_is_json_ready() -> None:
    import json

    data = json.loads(json.dumps(choose_provider(SessionSettings()).as_dict()))
    assert data["provider"] and data["label"]


# What both heap probes start with: glibc's malloc/free and the process's resident size.
_LIBC_PROBE = """
import ctypes, sys
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
"""

_HEAP_PROBE = (
    _LIBC_PROBE
    + """
if sys.argv[1] == "runtime":
    import inference.runtime.providers  # what every process that loads a model imports

# A model load frees big blocks (the parsed file, weights replaced by prepacked copies).
big = libc.malloc(8 << 20)
ctypes.memset(big, 1, 8 << 20)
libc.free(big)
base = rss_mb()
blocks = [libc.malloc(256 << 10) for _ in range(160)]  # 40 MB of activations, say
for block in blocks:
    ctypes.memset(block, 1, 256 << 10)
for block in blocks[:-1]:
    libc.free(block)
print(rss_mb() - base)
"""
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
def test_freed_buffers_go_back_to_the_system_once_the_runtime_is_loaded() -> None:
    """glibc keeps big freed blocks in the heap after a large free (its dynamic mmap
    threshold); the runtime pins the threshold so they are returned (lower peak RSS)."""

    def retained_mb(mode: str) -> float:
        done = subprocess.run(
            [sys.executable, "-c", _HEAP_PROBE, mode],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        assert done.returncode == 0, done.stderr
        return float(done.stdout.strip().splitlines()[-1])

    assert retained_mb("plain") > 30  # the allocator's default: the 39 freed MB stay
    assert retained_mb("runtime") < 8


_SMALL_BLOCKS_PROBE = (
    _LIBC_PROBE
    + """
from inference.process_environment import release_free_heap

# A tokenizer's JSON parse: ~100,000 short-lived small blocks, a few of them kept, so the
# freed ones are scattered through the heap and the heap's top cannot simply shrink.
blocks = [libc.malloc(400) for _ in range(100_000)]
for block in blocks:
    ctypes.memset(block, 1, 400)
for index, block in enumerate(blocks):
    if index % 64:
        libc.free(block)
before = rss_mb()
released = release_free_heap() if sys.argv[1] == "release" else False
print(before - rss_mb(), released)
"""
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
def test_freed_small_blocks_go_back_to_the_system_after_a_load() -> None:
    """Small freed blocks stay resident in glibc's heap; ``release_free_heap`` (called once a
    model is loaded) returns their pages (lower peak RSS for the rest of the process)."""

    def returned(mode: str) -> tuple[float, str]:
        done = subprocess.run(
            [sys.executable, "-c", _SMALL_BLOCKS_PROBE, mode],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        assert done.returncode == 0, done.stderr
        mb, released = done.stdout.strip().splitlines()[-1].split()
        return float(mb), released

    assert returned("keep")[0] < 2  # the allocator's default: ~38 MB of freed blocks stay
    mb, released = returned("release")
    assert released == "True" and mb > 20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's madvise only")
def test_mapped_pages_are_handed_back_and_read_again_intact(tmp_path: Path) -> None:
    import mmap

    from inference.process_environment import release_mapped_pages
    from tests.resident_memory import resident_bytes

    path = tmp_path / "weights.data"
    content = os.urandom(8 << 20)
    path.write_bytes(content)
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
        assert m[:] == content  # every page touched
        assert resident_bytes(path) == len(content)
        advised = release_mapped_pages(path)
        if advised == 0:
            pytest.skip("this kernel has no MADV_PAGEOUT (Linux 5.4+)")
        assert advised == len(content)
        assert resident_bytes(path) < len(content) // 4
        assert m[:] == content  # what is read again comes back from the file
