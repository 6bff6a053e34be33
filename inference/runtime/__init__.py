"""Run-time generation with onnxruntime: the writing tasks the editor and CLI use.

Typical use::

    model = LocalModel.load()                       # or LocalModel.load_in_background(...)
    result = model.run(GenerationRequest("continue", before=text), on_text=print, cancel=event)
    model.device_report.label(), model.tokens_per_second

Never imports TensorFlow or Qt. Names load on first use (PEP 562): the editor imports the
request, settings and result types without numpy or onnxruntime, whose import would hold its
interpreter lock; the model runs in its own process (``desktop/ui/model_process.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inference.lazy_names import lazy_names

if TYPE_CHECKING:
    from inference.runtime.answer_check import AnswerCheck
    from inference.runtime.device_report import DeviceReport
    from inference.runtime.errors import (
        DeviceUnavailableError,
        InvalidRequestError,
        ModelUnavailableError,
        RuntimeErrorBase,
    )
    from inference.runtime.local_model import LocalModel
    from inference.runtime.providers import SessionSettings, choose_provider
    from inference.runtime.results import GenerationStats, TaskResult
    from inference.runtime.runtime_settings import RuntimeSettings
    from inference.runtime.sampling_settings import SamplingSettings
    from inference.runtime.stop_reason import StopReason
    from inference.runtime.tasks import TONES, GenerationRequest, Task

# Each public name and the module that defines it.
_HOMES: dict[str, str] = {
    "AnswerCheck": "answer_check",
    "DeviceReport": "device_report",
    "DeviceUnavailableError": "errors",
    "InvalidRequestError": "errors",
    "ModelUnavailableError": "errors",
    "RuntimeErrorBase": "errors",
    "LocalModel": "local_model",  # numpy, onnxruntime, tokenizers
    "SessionSettings": "providers",  # onnxruntime
    "choose_provider": "providers",  # onnxruntime
    "GenerationStats": "results",
    "TaskResult": "results",
    "RuntimeSettings": "runtime_settings",
    "SamplingSettings": "sampling_settings",
    "StopReason": "stop_reason",
    "TONES": "tasks",
    "GenerationRequest": "tasks",
    "Task": "tasks",
}

__all__ = [
    "TONES",
    "AnswerCheck",
    "DeviceReport",
    "DeviceUnavailableError",
    "GenerationRequest",
    "GenerationStats",
    "InvalidRequestError",
    "LocalModel",
    "ModelUnavailableError",
    "RuntimeErrorBase",
    "RuntimeSettings",
    "SamplingSettings",
    "SessionSettings",
    "StopReason",
    "Task",
    "TaskResult",
    "choose_provider",
]


__getattr__, __dir__ = lazy_names(globals(), _HOMES)
