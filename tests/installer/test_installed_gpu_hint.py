"""A writer with an NVIDIA card running the installed CPU download is told what to install;
a source checkout keeps its pip advice. The NVIDIA driver is the one thing faked (no GPU here)."""

from __future__ import annotations

import ctypes
import sys

import pytest

from inference.runtime import providers


class _FakeDriver:
    """libcuda with one working GPU."""

    def cuInit(self, _flags: int) -> int:
        return 0

    def cuDeviceGetCount(self, count: object) -> int:
        ctypes.cast(count, ctypes.POINTER(ctypes.c_int)).contents.value = 1
        return 0


@pytest.fixture
def nvidia_card(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers, "_cuda_driver", lambda: _FakeDriver())
    monkeypatch.setattr(providers, "_load", lambda names: False)  # no CUDA/cuDNN libraries


def test_installed_cpu_download_names_the_gpu_download_and_nvidia_libraries(
    nvidia_card: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(providers, "_bundle_has_cuda_provider", lambda: False)
    reason = providers.diagnose_gpu_failure(providers.CUDA)
    assert "GPU download" in reason and "cuDNN 9" in reason
    assert "pip" not in reason and "extra" not in reason


def test_installed_gpu_download_names_the_missing_nvidia_libraries(
    nvidia_card: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(providers, "_bundle_has_cuda_provider", lambda: True)
    reason = providers.diagnose_gpu_failure(providers.CUDA)
    assert "install NVIDIA's CUDA" in reason and "pip" not in reason


def test_source_checkout_keeps_the_pip_advice(nvidia_card: None) -> None:
    assert "draftsmith[cuda]" in providers.diagnose_gpu_failure(providers.CUDA)
