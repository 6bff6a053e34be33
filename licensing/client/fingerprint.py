"""This machine's fingerprint: an HMAC of the OS machine id with Draftsmith's own key.

The raw machine id (or a MAC address) never leaves the machine; the HMAC makes the value
useless to correlate with other apps. When the OS has no machine id, a random one is made
once and kept in the license folder.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import platform
import re
import secrets
import subprocess
import sys
from pathlib import Path

from licensing.client.atomic_file import write_atomically
from licensing.client.paths import license_dir

log = logging.getLogger(__name__)

# Not a secret (it ships in the app); it only separates our fingerprints from anyone else's.
_APP_KEY = b"draftsmith/machine-fingerprint/v1/3f9c1e0b7a5d4c2e"
_LINUX_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))
_ID_PATTERN = re.compile(r"[0-9A-Za-z-]{8,128}")


def _linux_machine_id() -> str | None:
    for candidate in _LINUX_ID_FILES:
        try:
            value = candidate.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if _ID_PATTERN.fullmatch(value):
            return value
    return None


def _mac_machine_id() -> str | None:
    try:
        out = subprocess.run(
            ["ioreg", "-rd1", "-c", "IOPlatformExpertDevice"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'"IOPlatformUUID" = "([0-9A-Fa-f-]+)"', out)
    return match.group(1) if match else None


def _windows_machine_id() -> str | None:
    if sys.platform != "win32":
        return None
    try:
        import winreg

        with winreg.OpenKey(
            winreg.HKEY_LOCAL_MACHINE,
            r"SOFTWARE\Microsoft\Cryptography",
            0,
            winreg.KEY_READ | winreg.KEY_WOW64_64KEY,
        ) as key:
            value, _ = winreg.QueryValueEx(key, "MachineGuid")
            return str(value)
    except OSError:
        return None


def _own_machine_id() -> str:
    path = license_dir() / "machine-id"
    try:
        value = path.read_text(encoding="ascii").strip()
        if _ID_PATTERN.fullmatch(value):
            return value
    except (OSError, UnicodeDecodeError):
        pass
    value = secrets.token_hex(16)
    log.info("No OS machine id found; created Draftsmith's own")
    write_atomically(path, value.encode("ascii"))
    return value


def os_machine_id() -> str:
    if sys.platform.startswith("linux"):
        found = _linux_machine_id()
    elif sys.platform == "darwin":
        found = _mac_machine_id()
    elif sys.platform == "win32":
        found = _windows_machine_id()
    else:
        found = None
    return found or _own_machine_id()


def fingerprint_of(machine_id: str) -> str:
    return hmac.new(_APP_KEY, machine_id.encode("utf-8"), hashlib.sha256).hexdigest()


def machine_fingerprint() -> str:
    """64 hex characters identifying this machine to the license server."""
    return fingerprint_of(os_machine_id())


def machine_name() -> str:
    """The name the buyer sees in their list of activated machines."""
    return (platform.node() or "This computer")[:100]
