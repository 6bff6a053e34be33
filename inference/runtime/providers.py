"""Choosing the execution provider and creating onnxruntime sessions.

The order is CUDA -> DirectML -> CoreML -> CPU unless the user forces one. onnxruntime's
``get_available_providers()`` lists CUDA whenever the GPU package is installed, even when the
CUDA libraries or the driver are missing, so the decision is taken from the providers a
*created* session reports, and a GPU that was not used always comes with a plain reason."""

from __future__ import annotations

import base64
import contextlib
import ctypes
import functools
import io
import logging
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from inference.model_cache import installed_app
from inference.process_environment import (
    disable_onnxruntime_telemetry_events,
    limit_heap_retention,
)
from inference.runtime.device_report import DeviceReport, ProviderAttempt
from inference.runtime.errors import DeviceUnavailableError, InvalidRequestError

log = logging.getLogger(__name__)

disable_onnxruntime_telemetry_events()  # every run-time session is created in this module
limit_heap_retention()  # before any model is loaded: freed weight copies go back to the system

CUDA = "CUDAExecutionProvider"
DIRECTML = "DmlExecutionProvider"
COREML = "CoreMLExecutionProvider"
CPU = "CPUExecutionProvider"
GPU_ORDER = (CUDA, DIRECTML, COREML)

DEVICE_CHOICES = ("auto", "cpu", "cuda", "directml", "coreml")
_DEVICE_TO_PROVIDER = {"cpu": CPU, "cuda": CUDA, "directml": DIRECTML, "coreml": COREML}

# A one-node ONNX model (Identity, opset 13): creating a session from it tells which providers
# really start, in milliseconds, before the (large) model is loaded.
_PROBE_MODEL_B64 = (
    "CAgSADo7ChAKAXgSAXkiCElkZW50aXR5EgVwcm9iZVoPCgF4EgoKCAgBEgQKAggB"
    "Yg8KAXkSCgoICAESBAoCCAFCBAoAEA0="
)


def _probe_model() -> bytes:
    return base64.b64decode(_PROBE_MODEL_B64)


@dataclass(frozen=True)
class SessionSettings:
    """How to run the model: device preference, CPU threads, spinning, optimisation."""

    device: str = "auto"
    threads: int | None = None
    allow_spinning: bool = True
    # How long an idle worker thread spins before it sleeps (with ``allow_spinning``). Long
    # enough to bridge the gaps between one decode step's parallel kernels, short enough
    # not to take a busy machine's cores from the thread that has the work (issue 18:
    # unbounded spinning halved decode speed at load average 13-16; see the README).
    # None: onnxruntime's own spinning, unbounded.
    spin_duration_us: int | None = 50
    optimization: str = "all"  # "all", "extended", "basic", "none"
    profile_prefix: str | None = None  # onnxruntime's per-node profiling (benchmarks only)

    def __post_init__(self) -> None:
        if self.device not in DEVICE_CHOICES:
            raise InvalidRequestError(
                f"Unknown device {self.device!r}; choose one of: {', '.join(DEVICE_CHOICES)}."
            )
        if self.threads is not None and not 1 <= self.threads <= 256:
            raise InvalidRequestError(f"CPU threads must be between 1 and 256, not {self.threads}.")
        if self.spin_duration_us is not None and not 0 <= self.spin_duration_us <= 1_000_000:
            raise InvalidRequestError(
                f"Spin duration must be 0 to 1,000,000 microseconds, not {self.spin_duration_us}."
            )
        if self.optimization not in ("all", "extended", "basic", "none"):
            raise InvalidRequestError(f"Unknown graph optimization level {self.optimization!r}.")

    def cpu_threads(self) -> int:
        return self.threads or physical_cores()


def physical_cores() -> int:
    """Physical cores this process may use (hyper-threads share a core's math units)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    cores = _linux_physical_cores() if sys.platform.startswith("linux") else None
    if cores is None:
        logical = os.cpu_count() or 1
        # Without topology information assume two hardware threads per core on big machines.
        cores = logical // 2 if logical >= 8 else logical
    return max(1, min(cores, usable))


def _linux_physical_cores() -> int | None:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    seen: set[tuple[str, str]] = set()
    physical = core = ""
    for line in [*text.splitlines(), ""]:
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            physical = value.strip()
        elif key == "core id":
            core = value.strip()
        elif not line.strip():
            if core:
                seen.add((physical, core))
            physical = core = ""
    return len(seen) or None


def cpu_name() -> str:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


@functools.cache
def preload_gpu_libraries() -> None:
    """Let onnxruntime find the NVIDIA wheels of the ``cuda`` extra (a no-op without them)."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is None or CUDA not in ort.get_available_providers():
        return
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            preload()
    except Exception as exc:  # a broken NVIDIA wheel must not stop the CPU path
        log.debug("onnxruntime.preload_dlls failed: %s", exc)
    if captured.getvalue().strip():
        log.debug("onnxruntime.preload_dlls: %s", captured.getvalue().strip())


def session_options(settings: SessionSettings) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.cpu_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = {
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    }[settings.optimization]
    options.log_severity_level = 3
    if settings.profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = settings.profile_prefix
    options.add_session_config_entry(
        "session.intra_op.allow_spinning", "1" if settings.allow_spinning else "0"
    )
    if settings.allow_spinning and settings.spin_duration_us is not None:
        options.add_session_config_entry(
            "session.intra_op.spin_duration_us", str(settings.spin_duration_us)
        )
    return options


def _provider_entry(provider: str) -> str | tuple[str, dict[str, str]]:
    if provider == CUDA:
        return (CUDA, {"device_id": "0"})
    return provider


def _candidates(device: str) -> list[str]:
    if device == "auto":
        return [p for p in GPU_ORDER if p in _relevant_gpu_providers()] + [CPU]
    return [_DEVICE_TO_PROVIDER[device]]


@contextlib.contextmanager
def _quiet_onnxruntime():
    """onnxruntime prints provider-load failures itself; the report carries them instead."""
    ort.set_default_logger_severity(4)
    try:
        yield
    finally:
        ort.set_default_logger_severity(3)


def create_session(
    model: str | Path | bytes, settings: SessionSettings, *, providers: list[str] | None = None
) -> tuple[ort.InferenceSession, str]:
    """A session on the first of ``providers`` that really starts (CPU as the last resort)."""
    chosen = providers or [CPU]
    entries = [_provider_entry(p) for p in chosen]
    if CPU not in chosen:
        entries.append(CPU)
    source = str(model) if isinstance(model, Path) else model
    with _quiet_onnxruntime():
        session = ort.InferenceSession(source, session_options(settings), providers=entries)
    return session, session.get_providers()[0]


def choose_provider(settings: SessionSettings) -> DeviceReport:
    """Decide the provider by starting a one-node session on each candidate in turn."""
    preload_gpu_libraries()
    available = ort.get_available_providers()
    attempts: list[ProviderAttempt] = []
    gpu_reason: str | None = None
    chosen = CPU
    for provider in _candidates(settings.device):
        if provider == CPU:
            attempts.append(ProviderAttempt(CPU, True))
            chosen = CPU
            break
        if provider not in available:
            reason = _not_built_reason(provider)
            attempts.append(ProviderAttempt(provider, False, reason))
            continue
        try:
            _, used = create_session(_probe_model(), settings, providers=[provider])
        except Exception as exc:  # provider libraries can fail in many ways
            used = CPU
            log.debug("probe session on %s failed: %s", provider, exc)
        if used == provider:
            attempts.append(ProviderAttempt(provider, True))
            chosen = provider
            break
        reason = diagnose_gpu_failure(provider)
        attempts.append(ProviderAttempt(provider, False, reason))
    else:
        chosen = ""
    relevant = [a for a in attempts if not a.ok and a.provider in _relevant_gpu_providers()]
    if chosen in ("", CPU) and relevant:
        gpu_reason = relevant[0].reason
    if not chosen:
        reason = attempts[-1].reason if attempts else "it did not start"
        raise DeviceUnavailableError(
            f"The {settings.device.upper()} device was requested but cannot be used: {reason}. "
            "Use --device auto or cpu to run on the processor."
        )
    return _report(chosen, settings, gpu_reason, attempts)


def _report(
    provider: str,
    settings: SessionSettings,
    gpu_reason: str | None,
    attempts: list[ProviderAttempt],
) -> DeviceReport:
    if provider == CUDA:
        name = cuda_device_name() or "NVIDIA GPU"
        threads = None
    elif provider == CPU:
        name = cpu_name()
        threads = settings.cpu_threads()
    else:
        name = ""
        threads = None
    return DeviceReport(
        provider=provider,
        requested=settings.device,
        device_name=name,
        threads=threads,
        gpu_unavailable_reason=gpu_reason,
        nvidia_gpu=provider == CUDA or (gpu_reason is not None and nvidia_gpu_present()),
        attempts=tuple(attempts),
    )


def _relevant_gpu_providers() -> tuple[str, ...]:
    """The GPU providers a user of this platform could reasonably expect."""
    if sys.platform == "darwin":
        return (COREML,)
    if sys.platform == "win32":
        return (CUDA, DIRECTML)
    return (CUDA,)


def _not_built_reason(provider: str) -> str:
    if provider == CUDA:
        if installed_app():
            return (
                "this Draftsmith download runs the AI on the processor; for an NVIDIA GPU "
                "install Draftsmith's GPU download"
            )
        return (
            "this onnxruntime package has no CUDA support (install Draftsmith's `cuda` extra, "
            "which brings onnxruntime-gpu and the NVIDIA libraries)"
        )
    if provider == DIRECTML:
        return "the DirectML build of onnxruntime (onnxruntime-directml) is not installed"
    if provider == COREML:
        return "CoreML is only available on macOS"
    return "not available in this onnxruntime package"


def _ort_cuda_major() -> str:
    try:
        from onnxruntime.capi import build_and_package_info as info

        return str(getattr(info, "cuda_version", "") or "").split(".")[0] or "12"
    except ImportError:
        return "12"


def _load(names: list[str]) -> bool:
    for name in names:
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False


def _cuda_driver() -> ctypes.CDLL | None:
    names = ["nvcuda.dll"] if sys.platform == "win32" else ["libcuda.so.1", "libcuda.so"]
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def nvidia_gpu_present() -> bool:
    """The NVIDIA driver is installed and reports at least one GPU."""
    driver = _cuda_driver()
    if driver is None:
        return False
    try:
        count = ctypes.c_int()
        if driver.cuInit(0) != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
            return False
    except (AttributeError, OSError):
        return False
    return count.value > 0


def cuda_device_name() -> str:
    """The first CUDA device's name from the driver API ("" when unknown)."""
    driver = _cuda_driver()
    if driver is None:
        return ""
    try:
        if driver.cuInit(0) != 0:
            return ""
        device = ctypes.c_int()
        if driver.cuDeviceGet(ctypes.byref(device), 0) != 0:
            return ""
        buffer = ctypes.create_string_buffer(256)
        if driver.cuDeviceGetName(buffer, 256, device) != 0:
            return ""
        return buffer.value.decode("utf-8", "replace")
    except (AttributeError, OSError):
        return ""


def _bundle_has_cuda_provider() -> bool:
    """The installed app's CPU download leaves onnxruntime's CUDA provider library out."""
    capi = Path(ort.__file__).parent / "capi"
    return any(capi.glob("*onnxruntime_providers_cuda*"))


def diagnose_gpu_failure(provider: str) -> str:
    """Why a GPU provider listed by onnxruntime did not start, in plain words."""
    if provider != CUDA:
        return f"onnxruntime could not start {provider} on this machine"
    driver = _cuda_driver()
    if driver is None:
        return "no NVIDIA graphics driver was found (no NVIDIA GPU, or its driver is not installed)"
    try:
        status = driver.cuInit(0)
        count = ctypes.c_int()
        if status == 0:
            driver.cuDeviceGetCount(ctypes.byref(count))
    except (AttributeError, OSError):
        status, count = -1, ctypes.c_int(0)
    if status != 0 or count.value == 0:
        return f"the NVIDIA driver reports no usable GPU (cuInit status {status})"
    major = _ort_cuda_major()
    if installed_app() and not _bundle_has_cuda_provider():
        return (
            "this Draftsmith download runs the AI on the processor; for your NVIDIA GPU install "
            f"Draftsmith's GPU download and NVIDIA's CUDA {major} and cuDNN 9 libraries"
        )
    if sys.platform == "win32":
        cuda_names = [f"cublasLt64_{major}.dll"]
        cudnn_names = ["cudnn64_9.dll"]
    else:
        cuda_names = [f"libcublasLt.so.{major}"]
        cudnn_names = ["libcudnn.so.9"]
    if not _load(cuda_names) or not _load(cudnn_names):
        if installed_app():
            return (
                f"CUDA {major} / cuDNN 9 libraries not found — install NVIDIA's CUDA {major} "
                "runtime and cuDNN 9 (from NVIDIA, or your system's packages), then restart"
            )
        return (
            f"CUDA {major} / cuDNN 9 libraries not found — install the `cuda` extra "
            '(pip install "draftsmith[cuda]")'
        )
    return (
        "onnxruntime could not start its CUDA provider (the GPU may be too old, or out of "
        "memory); run with --debug for details"
    )
