"""Reading an offline activation request (the text block the desktop app writes)."""

from __future__ import annotations

from dataclasses import dataclass

from licensing.client.certificate import dearmor
from licensing.client.errors import CertificateError, LicenseKeyError
from licensing.client.license_key import normalize_key
from licensing.client.signed_document import strict_json_object
from licensing.protocol import (
    FINGERPRINT,
    MAX_MACHINE_NAME,
    PRODUCT,
    PROTOCOL_VERSION,
    REQUEST_LABEL,
    TOKEN,
    ErrorCode,
)
from licensing.server.licenses import LicenseProblem

_FIELDS = {"v", "product", "key", "fingerprint", "machine_name", "nonce", "created"}


@dataclass(frozen=True)
class OfflineRequest:
    key: str
    fingerprint: str
    machine_name: str
    nonce: str
    version: int  # 1: a client from before certificates named their activation kind


def parse_offline_request(text: str) -> OfflineRequest:
    def bad(why: str) -> LicenseProblem:
        return LicenseProblem(
            ErrorCode.BAD_REQUEST, 400, f"This is not a valid activation request: {why}"
        )

    try:
        raw = dearmor(text, REQUEST_LABEL)
        value = strict_json_object(raw, "activation request")
    except CertificateError as error:
        raise bad(str(error)) from None
    if set(value) != _FIELDS:
        raise bad("it has the wrong fields.")
    if value["v"] not in (1, PROTOCOL_VERSION) or value["product"] != PRODUCT:
        raise bad("it is for another product or version.")
    fingerprint, name, nonce = value["fingerprint"], value["machine_name"], value["nonce"]
    if not isinstance(fingerprint, str) or not FINGERPRINT.fullmatch(fingerprint):
        raise bad("the machine fingerprint is malformed.")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_MACHINE_NAME or not name.isprintable():
        raise bad("the machine name is malformed.")
    if not isinstance(nonce, str) or not TOKEN.fullmatch(nonce):
        raise bad("the request id is malformed.")
    try:
        key = normalize_key(value["key"])
    except LicenseKeyError as error:
        raise bad(str(error)) from None
    return OfflineRequest(key, fingerprint, name, nonce, value["v"])
