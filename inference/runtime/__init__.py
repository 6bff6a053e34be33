"""Run-time generation with onnxruntime: the writing tasks the editor and CLI use.

Typical use::

    model = LocalModel.load()                       # or LocalModel.load_in_background(...)
    result = model.run(GenerationRequest("continue", before=text), on_text=print, cancel=event)
    model.device_report.label(), model.tokens_per_second

Never imports TensorFlow or Qt."""

from __future__ import annotations

from inference.runtime.answer_check import AnswerCheck
from inference.runtime.device_report import DeviceReport
from inference.runtime.errors import (
    DeviceUnavailableError,
    InvalidRequestError,
    ModelUnavailableError,
    RuntimeErrorBase,
)
from inference.runtime.generation import GenerationStats
from inference.runtime.local_model import LocalModel, RuntimeSettings, TaskResult
from inference.runtime.providers import SessionSettings, choose_provider
from inference.runtime.sampling import SamplingSettings
from inference.runtime.stop_reason import StopReason
from inference.runtime.tasks import TONES, GenerationRequest, Task

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
