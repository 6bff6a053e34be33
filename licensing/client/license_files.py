"""The certificate file and the small state file in the user's data directory."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from licensing.client.atomic_file import write_atomically
from licensing.client.certificate import MAX_FILE_BYTES
from licensing.client.errors import LicenseStorageError
from licensing.client.paths import certificate_path, state_path

log = logging.getLogger(__name__)

# update_state reads, changes and writes the state file: two threads (the GUI and the
# background refresh) must not interleave, or one's change is lost.
_state_lock = threading.Lock()


def _explain(error: OSError, path: Path, doing: str) -> LicenseStorageError:
    reason = error.strerror or type(error).__name__
    return LicenseStorageError(f"Could not {doing} the license file {path}: {reason}.")


def read_certificate_bytes() -> bytes | None:
    """The certificate file's bytes (at most the size cap + 1), or None when there is none."""
    path = certificate_path()
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _explain(error, path, "read") from error


def write_certificate(armored: str) -> Path:
    path = certificate_path()
    try:
        write_atomically(path, armored.encode("ascii"))
    except OSError as error:
        raise _explain(error, path, "save") from error
    return path


def delete_certificate() -> None:
    path = certificate_path()
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        raise _explain(error, path, "remove") from error


def read_state() -> dict[str, Any]:
    """Trial start, last seen, the server's last verdict. Unreadable state reads as empty."""
    try:
        raw = state_path().read_bytes()[:65536]
        value = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        log.warning("license state file unreadable (%s); starting from empty", type(error).__name__)
        return {}
    return value if isinstance(value, dict) else {}


def update_state(**changes: Any) -> None:
    """Set (or, with None, remove) entries of the state file, one writer at a time."""
    with _state_lock:
        state = read_state()
        for key, value in changes.items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        try:
            write_atomically(state_path(), json.dumps(state, sort_keys=True).encode("utf-8"))
        except OSError as error:
            log.warning("could not save license state: %s", error.strerror)
