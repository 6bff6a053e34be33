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


def test_an_unused_nvidia_card_gets_a_hint_of_what_to_install(nvidia_card: None) -> None:
    report = providers.choose_provider(providers.SessionSettings(device="auto"))
    assert not report.is_gpu and report.nvidia_gpu
    hint = report.gpu_hint()
    assert hint.startswith("Your NVIDIA graphics card is not used: ")
    assert "cuda" in hint.lower() and "install" in hint


def test_installed_cpu_package_names_the_gpu_download(
    nvidia_card: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(providers.ort, "get_available_providers", lambda: [providers.CPU])
    hint = providers.choose_provider(providers.SessionSettings(device="auto")).gpu_hint()
    assert "GPU download" in hint and "pip" not in hint


def test_no_hint_without_an_nvidia_card(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers, "_cuda_driver", lambda: None)
    report = providers.choose_provider(providers.SessionSettings(device="auto"))
    assert not report.nvidia_gpu and report.gpu_hint() == ""


def test_no_hint_when_the_writer_chose_the_processor(nvidia_card: None) -> None:
    assert providers.choose_provider(providers.SessionSettings(device="cpu")).gpu_hint() == ""
