"""The vendor's public signing keys, compiled into the app, by key id (for rotation).

Only these keys are trusted. A key or key id named inside a license file is just a lookup
into this table; a key carried by the file itself is never used. The matching private keys
live with the vendor (``draftsmith-license keygen``), never in this repository.

To rotate: generate a new key pair, add its line here, ship a build, then make the server
sign with the new ``kid``. Keep old lines until every certificate signed with them has
been refreshed.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# kid -> raw Ed25519 public key (32 bytes, standard base64)
_COMPILED: dict[str, str] = {
    "ds-2026-1": "iZflXlo0vvWulBWyikWqyAtFBey7KHGX829IpOCLYHM=",
}

_lock = threading.Lock()
_test_override: dict[str, Ed25519PublicKey] | None = None


def _load(table: Mapping[str, str]) -> dict[str, Ed25519PublicKey]:
    return {
        kid: Ed25519PublicKey.from_public_bytes(base64.b64decode(raw, validate=True))
        for kid, raw in table.items()
    }


_TRUSTED: dict[str, Ed25519PublicKey] = _load(_COMPILED)


def trusted_keys() -> Mapping[str, Ed25519PublicKey]:
    """The table the client verifies against (the compiled one, outside tests)."""
    with _lock:
        return dict(_test_override) if _test_override is not None else dict(_TRUSTED)


@contextmanager
def override_for_tests(keys: Mapping[str, Ed25519PublicKey]) -> Iterator[None]:
    """TEST-ONLY seam: trust ``keys`` instead of the compiled table inside this block.

    Tests generate their own key pair (the vendor's private key is never available to
    them). Nothing in the app calls this, and no file or environment setting can reach it.
    """
    global _test_override
    with _lock:
        previous = _test_override
        _test_override = dict(keys)
    try:
        yield
    finally:
        with _lock:
            _test_override = previous
