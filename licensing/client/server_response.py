"""Signed answers from the license server: verified before a single field is believed.

Every answer of the activation API is an envelope signed for the document type
``response`` whose payload echoes the nonce the client sent, the request's method and path,
the HTTP status, and the time it was made. An unsigned, re-signed, stale or replayed answer
is refused, so a fake server (a hosts-file entry, a captive portal) cannot answer "valid",
and an answer to one call cannot be passed off as the answer to another.

Compatibility: servers add ``method``/``path`` since protocol 1.1; older clients ignore
fields they don't know, so a new server serves them unchanged. A new client refuses an
answer without the binding (fail closed): deploy the server before shipping the client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from licensing.client.errors import ActivationError, CertificateError
from licensing.client.signed_document import open_envelope
from licensing.protocol import RESPONSE_DOCUMENT, response_payload_binding

DOCUMENT_TYPE = RESPONSE_DOCUMENT
MAX_RESPONSE_BYTES = 64 * 1024
MAX_AGE_S = 5 * 60
FORMAT_VERSION = 1


def _bad(detail: str) -> ActivationError:
    return ActivationError(
        "The license server's answer could not be trusted "
        f"({detail}). Please try again later or use offline activation.",
        "BAD_RESPONSE",
    )


def verify_response(
    body: bytes,
    *,
    http_status: int,
    nonce: str,
    method: str,
    path: str,
    now: float,
    trusted_keys: Mapping[str, Ed25519PublicKey],
) -> dict[str, Any]:
    """The verified ``data`` of a successful answer; raises ``ActivationError`` otherwise."""
    if len(body) > MAX_RESPONSE_BYTES:
        raise _bad("too large")
    try:
        payload = open_envelope(body, DOCUMENT_TYPE, trusted_keys)
    except CertificateError as error:
        raise _bad(f"not signed: {error}") from None
    if payload.get("v") != FORMAT_VERSION:
        raise _bad("unknown format")
    if payload.get("nonce") != nonce:
        raise _bad("it answers a different request")
    issued = payload.get("issued")
    if not isinstance(issued, int) or isinstance(issued, bool) or abs(issued - now) > MAX_AGE_S:
        raise _bad("it is stale, or this computer's clock is wrong")
    if payload.get("status") != http_status:
        raise _bad("its status does not match")
    for name, expected in response_payload_binding(method, path).items():
        if payload.get(name) != expected:
            raise _bad("it answers a different call")
    if payload.get("ok") is True:
        data = payload.get("data")
        if not isinstance(data, dict):
            raise _bad("no data")
        data["_issued"] = issued  # the server's own (signed) clock
        return data
    details = payload.get("error")
    if not isinstance(details, dict):
        raise _bad("no error details")
    code, message = details.get("code"), details.get("message")
    if not isinstance(code, str) or not isinstance(message, str):
        raise _bad("malformed error")
    machines = details.get("machines")
    license_id = details.get("license_id")
    raise ActivationError(
        message,
        code,
        machines if isinstance(machines, list) else None,
        server_time=issued,
        license_id=license_id if isinstance(license_id, str) else None,
    )
