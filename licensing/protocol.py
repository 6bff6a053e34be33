"""The wire protocol shared by the desktop client and the license server.

One definition of each rule both sides must agree on: field shapes, the edition rule, the
signed document types, the error codes and how a signed answer is bound to its request.
The client verifies with these; the server (and the vendor's command line) refuses to make
anything these would refuse.
"""

from __future__ import annotations

import re
from enum import StrEnum

PRODUCT = "draftsmith"
FORMAT_VERSION = 1
# What the client understands. Protocol 2 clients read a certificate's optional
# ``activation`` field; a protocol 1 client (no ``protocol`` in its requests, ``v: 1`` in its
# offline request) refuses unknown certificate fields, so the server leaves it out for them.
PROTOCOL_VERSION = 2

# Signed document types (the signature covers "<type>/" + payload, see signed_document).
LICENSE_DOCUMENT = "license"
TRIAL_DOCUMENT = "trial"
RESPONSE_DOCUMENT = "response"

REQUEST_LABEL = "DRAFTSMITH ACTIVATION REQUEST"
MAX_OFFLINE_REQUEST = 16 * 1024

FINGERPRINT = re.compile(r"[0-9a-f]{64}")
TOKEN = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
# An edition is a short word shown to the buyer ("standard", "pro"); 40 is the database column.
EDITION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
MAX_MACHINE_NAME = 100


def edition_problem(value: object) -> str | None:
    """Why ``value`` cannot be an edition (plain words), or None when it can."""
    if not isinstance(value, str) or not value:
        return "an edition must be a non-empty word"
    if not EDITION.fullmatch(value):
        return (
            f"the edition {value[:60]!r} is not allowed: use at most 40 letters, digits, "
            "'-', '_' or '.', starting with a letter or digit (no spaces)"
        )
    return None


class ActivationMode(StrEnum):
    """How a certificate was obtained; it decides whether it must be refreshed."""

    ONLINE = "online"  # through the API: refreshed in the background, stops 90 days offline
    OFFLINE = "offline"  # through the offline page for an air-gapped machine: never expires


class ErrorCode(StrEnum):
    BAD_REQUEST = "BAD_REQUEST"
    NOT_FOUND = "NOT_FOUND"
    SUSPENDED = "SUSPENDED"
    REFUNDED = "REFUNDED"
    REVOKED = "REVOKED"
    MACHINE_NOT_ACTIVATED = "MACHINE_NOT_ACTIVATED"
    TOO_MANY_MACHINES = "TOO_MANY_MACHINES"
    TRIAL_USED = "TRIAL_USED"
    RATE_LIMITED = "RATE_LIMITED"


# After these the server no longer vouches for the license (the whole license is withdrawn)...
LICENSE_WITHDRAWN = frozenset(
    {ErrorCode.NOT_FOUND, ErrorCode.SUSPENDED, ErrorCode.REFUNDED, ErrorCode.REVOKED}
)
# ...and after this one, for this machine's seat only.
SEAT_WITHDRAWN = frozenset({ErrorCode.MACHINE_NOT_ACTIVATED})


def response_payload_binding(method: str, path: str) -> dict[str, str]:
    """What a signed answer says about the request it answers (besides the nonce).

    Binding method and path means an answer to one call (``/v1/machines``, say) can never be
    replayed as the answer to another (``/v1/validate``).
    """
    return {"method": method.upper(), "path": path}
