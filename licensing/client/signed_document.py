"""Ed25519-signed documents: the envelope shared by license files and server responses.

An envelope is the JSON object ``{"alg", "kid", "payload", "sig"}`` where ``payload`` is the
standard base64 of the exact payload bytes and ``sig`` the Ed25519 signature over
``<document type> + b"/" + payload bytes``. The type prefix means a signature made for one kind
of document (a server response, say) can never be replayed as another (a license).

Everything here is strict on purpose: one encoding of each value is accepted, unknown fields
are refused, and the only keys trusted are the ones the caller passes in (the table compiled
into the app); an algorithm or key named inside the document is never believed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from licensing.client.errors import CertificateError

ALGORITHM = "Ed25519"
ENVELOPE_FIELDS = frozenset({"alg", "kid", "payload", "sig"})
MAX_PAYLOAD_BYTES = 8 * 1024
SIGNATURE_BYTES = 64


def strict_b64decode(text: str, what: str) -> bytes:
    """Standard, padded, canonical base64 only (no URL-safe alphabet, no missing padding)."""
    if not isinstance(text, str):
        raise CertificateError(f"The {what} is not text.")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise CertificateError(f"The {what} is not valid base64.") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise CertificateError(f"The {what} is not in canonical base64.")
    return raw


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise CertificateError(f"The document repeats the field {key!r}.")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise CertificateError(f"The document contains {name}, which is not allowed.")


def strict_json_object(raw: bytes, what: str) -> dict[str, Any]:
    """Parse UTF-8 JSON that must be one object: no duplicate keys, no NaN/Infinity."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CertificateError(f"The {what} is not UTF-8 text.") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except CertificateError:
        raise
    except RecursionError:
        raise CertificateError(f"The {what} is nested too deeply.") from None
    except (ValueError, TypeError):
        raise CertificateError(f"The {what} is not valid JSON.") from None
    if not isinstance(value, dict):
        raise CertificateError(f"The {what} is not a JSON object.")
    return value


def encode_envelope(alg: str, kid: str, payload: bytes, signature: bytes) -> bytes:
    envelope = {
        "alg": alg,
        "kid": kid,
        "payload": base64.b64encode(payload).decode("ascii"),
        "sig": base64.b64encode(signature).decode("ascii"),
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode("ascii")


def signed_message(document_type: str, payload: bytes) -> bytes:
    return document_type.encode("ascii") + b"/" + payload


def open_envelope(
    envelope_bytes: bytes,
    document_type: str,
    trusted_keys: Mapping[str, Ed25519PublicKey],
) -> dict[str, Any]:
    """Verify an envelope and return its payload object.

    Checks, in order: strict JSON; exactly the four fields; ``alg`` is Ed25519; ``kid`` is in
    ``trusted_keys``; the signature is 64 bytes and valid for ``document_type``; and only then
    parses the payload (strict JSON object).
    """
    envelope = strict_json_object(envelope_bytes, "signed document")
    if set(envelope) != ENVELOPE_FIELDS:
        extra = sorted(set(envelope) - ENVELOPE_FIELDS)
        missing = sorted(ENVELOPE_FIELDS - set(envelope))
        detail = f"unexpected {extra}" if extra else f"missing {missing}"
        raise CertificateError(f"The signed document has the wrong fields ({detail}).")
    alg, kid = envelope["alg"], envelope["kid"]
    if not isinstance(alg, str) or alg != ALGORITHM:
        raise CertificateError(
            "The document is signed with an algorithm Draftsmith does not accept."
        )
    if not isinstance(kid, str) or kid not in trusted_keys:
        raise CertificateError("The document is signed with a key Draftsmith does not know.")
    signature = strict_b64decode(envelope["sig"], "signature")
    if len(signature) != SIGNATURE_BYTES:
        raise CertificateError("The signature has the wrong length.")
    if not isinstance(envelope["payload"], str) or len(envelope["payload"]) > MAX_PAYLOAD_BYTES * 2:
        raise CertificateError("The signed content is missing or too large.")
    payload = strict_b64decode(envelope["payload"], "signed content")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise CertificateError("The signed content is too large.")
    try:
        trusted_keys[kid].verify(signature, signed_message(document_type, payload))
    except InvalidSignature:
        raise CertificateError(
            "The signature does not match: the file was changed or was not issued by Draftsmith."
        ) from None
    return strict_json_object(payload, "signed content")
