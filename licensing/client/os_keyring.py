"""The ``keyring`` package, imported the way Draftsmith uses it (``from
licensing.client.os_keyring import keyring``): the license store and sync's secrets both go
through here.

On its first call keyring finds a backend by importing every one it ships, on every
platform. Its macOS backend's import looks up macOS's Security, CoreServices and Foundation
frameworks with ``ctypes.util.find_library``, which on Linux starts ``ldconfig -p``, ``gcc``
and ``ld`` for each of them: nine programs at every start of the app, in its first second,
for a backend that refuses to run anywhere but macOS anyway. Off macOS that framework module
is marked absent before keyring loads, so its import fails at once (keyring expects that
and skips the backend); every other backend, a keyring chosen in keyring's own settings or
``PYTHON_KEYRING_BACKEND`` included, is found as before."""

from __future__ import annotations

import sys

MACOS_FRAMEWORKS_MODULE = "keyring.backends.macOS.api"

if sys.platform != "darwin":
    sys.modules.setdefault(MACOS_FRAMEWORKS_MODULE, None)  # type: ignore[arg-type]

import keyring  # noqa: E402
import keyring.errors  # noqa: E402

__all__ = ["keyring"]
