"""Process-wide settings for the libraries Draftsmith loads, applied before they load.

``inference/__init__.py`` imports this module first, and every Draftsmith process goes through
that package before it can import onnxruntime, tf2onnx or TensorFlow: the editor (its AI feature
and the model-build subprocess it starts), ``draftsmith generate/devices``, ``draftsmith-model``,
the benchmarks and the tests. So these settings live here once, not in each entry point.

onnxruntime 1.29+ on Linux and macOS ships Microsoft's 1DS telemetry, on by default: it writes a
device identifier and an event database under ``$XDG_CACHE_HOME/Microsoft/DeveloperTools`` and
uploads to ``mobile.events.data.microsoft.com``. ``ORT_DISABLE_TELEMETRY=1`` is its full opt-out,
read once when onnxruntime initialises (so it must be set before the import). On Windows the
same events go through ETW and are switched off with ``disable_telemetry_events()``."""

from __future__ import annotations

import functools
import logging
import os
import sys

log = logging.getLogger(__name__)

ONNXRUNTIME_TELEMETRY_ENV = "ORT_DISABLE_TELEMETRY"

# Forced, not defaulted: Draftsmith promises that nothing leaves the computer, so a value a
# shell profile left behind (ORT_DISABLE_TELEMETRY=0) must not turn the uploads back on.
FORCED = {ONNXRUNTIME_TELEMETRY_ENV: "1"}
# Defaults a user may override: TensorFlow's C++ start-up chatter is noise in a progress display
# (errors still surface as Python exceptions), and Keras must use TensorFlow for the export.
DEFAULTS = {"TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}


def apply() -> None:
    """Set the variables in ``os.environ`` (inherited by every subprocess Draftsmith starts)."""
    for name, value in FORCED.items():
        if os.environ.get(name, value) != value:
            log.info("Ignoring %s=%s: Draftsmith keeps it at %s", name, os.environ[name], value)
        os.environ[name] = value
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    if "onnxruntime" in sys.modules:
        # Too late for the variable in this process; the events API below still applies.
        log.warning("onnxruntime was imported before Draftsmith could switch its telemetry off")


@functools.cache
def disable_onnxruntime_telemetry_events() -> None:
    """Switch off onnxruntime's runtime telemetry events (ETW on Windows, 1DS elsewhere).

    Called once right after the import by the modules that create onnxruntime sessions; older
    onnxruntime builds without the call need nothing (they send no telemetry off Windows)."""
    import onnxruntime

    disable = getattr(onnxruntime, "disable_telemetry_events", None)
    if disable is not None:
        disable()


apply()
