"""What runs the model, and — when a GPU was not used — why, in plain words."""

from __future__ import annotations

from dataclasses import dataclass, field

PROVIDER_LABELS = {
    "CUDAExecutionProvider": "CUDA",
    "DmlExecutionProvider": "DirectML",
    "CoreMLExecutionProvider": "CoreML",
    "CPUExecutionProvider": "CPU",
}


@dataclass(frozen=True)
class ProviderAttempt:
    """One provider the runtime tried, and what came of it."""

    provider: str
    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class DeviceReport:
    """The execution provider the created session really uses (not what onnxruntime lists)."""

    provider: str
    requested: str
    device_name: str = ""
    threads: int | None = None
    gpu_unavailable_reason: str | None = None
    nvidia_gpu: bool = False  # the NVIDIA driver reports a usable card (used or not)
    attempts: tuple[ProviderAttempt, ...] = field(default_factory=tuple)

    @property
    def is_gpu(self) -> bool:
        return self.provider != "CPUExecutionProvider"

    @property
    def provider_label(self) -> str:
        return PROVIDER_LABELS.get(self.provider, self.provider)

    def label(self) -> str:
        """A short status-bar text, e.g. ``GPU: NVIDIA H100 (CUDA)`` or ``CPU, 2 threads``."""
        if self.is_gpu:
            name = self.device_name or "graphics card"
            return f"GPU: {name} ({self.provider_label})"
        threads = f", {self.threads} threads" if self.threads else ""
        return f"CPU{threads}"

    def gpu_hint(self) -> str:
        """What to install, when this machine has an NVIDIA card the AI does not use ("" else)."""
        if self.is_gpu or not self.nvidia_gpu or not self.gpu_unavailable_reason:
            return ""
        return f"Your NVIDIA graphics card is not used: {self.gpu_unavailable_reason}."

    def describe(self) -> str:
        """Several lines for ``draftsmith devices`` and the settings dialog."""
        lines = [f"Running on: {self.label()}"]
        if not self.is_gpu and self.device_name:
            lines.append(f"Processor: {self.device_name}")
        lines.append(f"Requested device: {self.requested}")
        if self.gpu_unavailable_reason:
            lines.append(f"Why no GPU: {self.gpu_unavailable_reason}")
        for attempt in self.attempts:
            outcome = "used" if attempt.ok else f"not used — {attempt.reason}"
            lines.append(f"  {PROVIDER_LABELS.get(attempt.provider, attempt.provider)}: {outcome}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "label": self.label(),
            "requested": self.requested,
            "device_name": self.device_name,
            "threads": self.threads,
            "gpu_unavailable_reason": self.gpu_unavailable_reason,
            "nvidia_gpu": self.nvidia_gpu,
            "attempts": [
                {"provider": a.provider, "ok": a.ok, "reason": a.reason} for a in self.attempts
            ],
        }
