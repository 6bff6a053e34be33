"""Device choice on this machine, decided from created sessions."""

from __future__ import annotations

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


@pytest.mark.parametrize("bad", [{"device": "tpu"}, {"threads": 0}, {"optimization": "max"}])
def test_bad_session_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidRequestError):
        SessionSettings(**bad)  # type: ignore[arg-type]


def test_report_is_json_ready() -> None:
    import json

    data = json.loads(json.dumps(choose_provider(SessionSettings()).as_dict()))
    assert data["provider"] and data["label"]
