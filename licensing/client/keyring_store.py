"""The license key and the last time seen, in the OS keyring, with a timeout.

Keyring calls can hang (a locked Secret Service waiting for a prompt nobody sees), fail
(no backend on a headless Linux box) or return garbage. Every call here runs in a worker
thread with a time limit and turns any failure into ``KeyringUnavailable``; after one
failure the keyring is not asked again for a while, so the app never stalls twice.
The key is never written anywhere else: without a keyring the app keeps working from
the certificate file, and says so.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from licensing.client.errors import KeyringUnavailable, LicenseKeyError
from licensing.client.license_key import normalize_key
from licensing.client.os_keyring import keyring
from licensing.client.paths import KEYRING_SERVICE

log = logging.getLogger(__name__)

T = TypeVar("T")

KEY_ENTRY = "license-key"
LAST_SEEN_ENTRY = "last-seen"
TRIAL_ENTRY = "trial-started"
WITHDRAWN_ENTRY = "withdrawn"
DEFAULT_TIMEOUT_S = 3.0
RETRY_AFTER_S = 300.0

_breaker_lock = threading.Lock()
_broken_until = 0.0
_broken_reason = ""


def _reset_breaker() -> None:
    """Forget an earlier failure (after the user fixed their keyring, and in tests)."""
    global _broken_until, _broken_reason
    with _breaker_lock:
        _broken_until, _broken_reason = 0.0, ""


def _trip(reason: str) -> None:
    global _broken_until, _broken_reason
    with _breaker_lock:
        _broken_until, _broken_reason = time.monotonic() + RETRY_AFTER_S, reason


def _call(fn: Callable[[], T], what: str, timeout: float) -> T:
    with _breaker_lock:
        if time.monotonic() < _broken_until:
            raise KeyringUnavailable(_broken_reason)
    outcome: dict[str, object] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as error:
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=run, name=f"keyring-{what}", daemon=True).start()
    if not done.wait(timeout):
        reason = (
            "The system keyring did not answer (it may be locked). "
            "Draftsmith keeps working from its license file."
        )
        log.warning("keyring %s timed out after %.1f s", what, timeout)
        _trip(reason)
        raise KeyringUnavailable(reason)
    error = outcome.get("error")
    if error is not None:
        if isinstance(error, keyring.errors.KeyringLocked):
            reason = "The system keyring is locked. Draftsmith keeps working from its license file."
        elif isinstance(error, keyring.errors.NoKeyringError):
            reason = (
                "No system keyring is available on this computer, so your license key is not "
                "remembered. Draftsmith keeps working from its license file."
            )
        else:
            reason = (
                "The system keyring reported an error. "
                "Draftsmith keeps working from its license file."
            )
        log.warning("keyring %s failed: %s", what, type(error).__name__)
        _trip(reason)
        raise KeyringUnavailable(reason) from error  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


class KeyringStore:
    """The few entries Draftsmith keeps in the OS keyring."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = DEFAULT_TIMEOUT_S if timeout is None else timeout

    def _get(self, entry: str) -> str | None:
        value = _call(lambda: keyring.get_password(KEYRING_SERVICE, entry), "read", self.timeout)
        if value is not None and not isinstance(value, str):
            return None
        return value

    def _set(self, entry: str, value: str) -> None:
        _call(lambda: keyring.set_password(KEYRING_SERVICE, entry, value), "write", self.timeout)

    def _delete(self, entry: str) -> None:
        def delete() -> None:
            with contextlib.suppress(keyring.errors.PasswordDeleteError):
                keyring.delete_password(KEYRING_SERVICE, entry)

        _call(delete, "delete", self.timeout)

    def license_key(self) -> str | None:
        """The stored key, or None. A corrupt entry reads as no key (and is logged, not shown)."""
        value = self._get(KEY_ENTRY)
        if value is None:
            return None
        try:
            return normalize_key(value)
        except LicenseKeyError:
            log.warning("the license key stored in the keyring is corrupt; ignoring it")
            return None

    def store_license_key(self, key: str) -> None:
        self._set(KEY_ENTRY, normalize_key(key))

    def forget_license_key(self) -> None:
        self._delete(KEY_ENTRY)

    def entry(self, entry: str) -> str | None:
        """A small non-secret record (JSON text) kept next to the state file."""
        return self._get(entry)

    def store_entry(self, entry: str, value: str) -> None:
        self._set(entry, value)

    def time_entry(self, entry: str) -> int | None:
        """A stored Unix time (``last-seen``, ``trial-started``); corrupt reads as None."""
        value = self._get(entry)
        if value is None:
            return None
        try:
            seen = int(value)
        except ValueError:
            log.warning("the keyring entry %s is corrupt; ignoring it", entry)
            return None
        return seen if 0 <= seen < 2**40 else None

    def store_time_entry(self, entry: str, when: int) -> None:
        self._set(entry, str(int(when)))
