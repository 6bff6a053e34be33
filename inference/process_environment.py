"""Process-wide settings for the libraries Draftsmith loads, applied before they load.

``inference/__init__.py`` imports this module first, and every Draftsmith process goes through
that package before it can import onnxruntime, tf2onnx or TensorFlow: the editor (its AI feature
and the model-build subprocess it starts), ``draftsmith generate/devices``, ``draftsmith-model``,
the benchmarks and the tests. So these settings live here once, not in each entry point.

onnxruntime 1.29+ on Linux and macOS ships Microsoft's 1DS telemetry, on by default: it writes a
device identifier and an event database under ``$XDG_CACHE_HOME/Microsoft/DeveloperTools`` and
uploads to ``mobile.events.data.microsoft.com``. ``ORT_DISABLE_TELEMETRY=1`` is its full opt-out,
read once when onnxruntime initialises (so it must be set before the import). On Windows the
same events go through ETW and are switched off with ``disable_telemetry_events()``.

Keras (the model build) reads and, on first use, writes its settings in ``~/.keras/keras.json``:
``KERAS_HOME`` keeps that file in Draftsmith's cache folder, so a build writes nothing outside
Draftsmith's folders and a writer's own Keras settings (another backend, float16) can't change
the model it builds.

glibc's allocator raises its mmap threshold each time a large block is freed, so after the
model load (the parsed file, then the kernels' prepacked copies, then the freed originals) and
after prefills of growing length, big freed blocks stay in the heap and count in the process's
memory for good. ``limit_heap_retention()`` pins the threshold at 64 KiB: large buffers are
mapped and unmapped on their own and go back to the system when freed (the default model's
session after a 1,300-token prefill: peak RSS 357 -> 323 MB). Small blocks are another matter:
loading the tokenizer parses a 1.7 MB JSON file into ~100,000 short-lived strings, and the
freed ones stay scattered in the heap; ``release_free_heap()`` (glibc's ``malloc_trim``) hands
every free page back once the model is loaded (about 14 MB for the default model's tokenizer).

onnxruntime maps a model's weights file and, for the 4-bit kernels, keeps each projection's
float scales mapped beside its own packed copy of them without reading them again (measured:
of 19 MB paged out after a load, 2 MB came back over a prefill and decoding).
``release_mapped_pages()`` asks the kernel to reclaim those pages (``MADV_PAGEOUT``, a hint:
what is read again is read back from the file), about 16 MB for the default model."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import sys
from pathlib import Path

import platformdirs

from inference.model_cache import APP_NAME

log = logging.getLogger(__name__)

ONNXRUNTIME_TELEMETRY_ENV = "ORT_DISABLE_TELEMETRY"
KERAS_HOME_ENV = "KERAS_HOME"


def keras_home() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "keras"


# Forced, not defaulted: Draftsmith promises that nothing leaves the computer, so a value a
# shell profile left behind (ORT_DISABLE_TELEMETRY=0) must not turn the uploads back on; and the
# export is written for Keras on TensorFlow, whatever backend the writer's shell chose.
FORCED = {
    ONNXRUNTIME_TELEMETRY_ENV: "1",
    KERAS_HOME_ENV: str(keras_home()),
    "KERAS_BACKEND": "tensorflow",
}
# A default a user may override: TensorFlow's C++ start-up chatter is noise in a progress
# display (errors still surface as Python exceptions).
DEFAULTS = {"TF_CPP_MIN_LOG_LEVEL": "3"}


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


# glibc's mallopt parameter number for the mmap threshold, and the value Draftsmith pins.
_M_MMAP_THRESHOLD = -3
HEAP_MMAP_THRESHOLD = 64 * 1024
_MADV_PAGEOUT = 21  # Linux 5.4+


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library where it is glibc (it has ``mallopt`` and ``malloc_trim``), else None."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        libc.madvise.restype = ctypes.c_int
    except (OSError, AttributeError):  # musl and other C libraries: neither call
        return None
    return libc


@functools.cache
def limit_heap_retention() -> bool:
    """Pin glibc's mmap threshold (see the module's docstring); True where it was applied
    (Linux with glibc), False elsewhere, where the platform allocator needs nothing."""
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(_M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD))


def release_free_heap() -> bool:
    """Give the heap's free pages back to the system (glibc's ``malloc_trim``); True where
    something was released. Call it after a load that freed many small blocks."""
    libc = _glibc()
    return libc is not None and bool(libc.malloc_trim(0))


def release_mapped_pages(path: Path) -> int:
    """Ask the kernel to reclaim the resident pages of this process's mappings of ``path``
    (see the module's docstring); returns the bytes of mapping advised, 0 where the platform
    or its kernel has no such call. Data is never lost: a page read again comes back."""
    libc = _glibc()
    if libc is None:
        return 0
    target = os.fsencode(os.path.realpath(path))
    advised = 0
    try:
        with open("/proc/self/maps", "rb") as maps:
            for line in maps:
                fields = line.split(maxsplit=5)
                if len(fields) < 6 or fields[5].rstrip(b"\n") != target:
                    continue
                low, high = (int(edge, 16) for edge in fields[0].split(b"-"))
                if libc.madvise(low, high - low, _MADV_PAGEOUT) != 0:
                    return advised  # an older kernel: nothing more to try
                advised += high - low
    except OSError:
        pass
    return advised


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
