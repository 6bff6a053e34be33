"""License certificates: the signed file that lets a machine run Draftsmith fully offline.

File format (ASCII, at most ``MAX_FILE_BYTES``)::

    -----BEGIN DRAFTSMITH LICENSE-----
    <standard base64 of the signed envelope, 64 characters a line>
    -----END DRAFTSMITH LICENSE-----

The envelope (see ``signed_document``) is signed for the document type ``license``. Windows
line endings are accepted (a copy through a Windows editor must not break a license); every
other deviation is refused.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from licensing.client.errors import CertificateError
from licensing.client.signed_document import open_envelope, strict_b64decode
from licensing.protocol import (
    EDITION,
    FINGERPRINT,
    FORMAT_VERSION,
    LICENSE_DOCUMENT,
    PRODUCT,
    TOKEN,
    ActivationMode,
)

DOCUMENT_TYPE = LICENSE_DOCUMENT
MAX_FILE_BYTES = 16 * 1024
LABEL = "DRAFTSMITH LICENSE"
LINE_WIDTH = 64
KNOWN_ENTITLEMENTS = frozenset({"ai", "sync"})

_BASE64_LINE = re.compile(r"[A-Za-z0-9+/=]{1,76}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

_FIELDS: dict[str, type] = {
    "v": int,
    "license_id": str,
    "machine_id": str,
    "product": str,
    "edition": str,
    "entitlements": list,
    "purchased_at": str,
    "updates_until": str,
    "fingerprint": str,
    "issued": int,
    "refresh_after": int,
    "nonce": str,
}
# Optional: certificates made before the field existed carry no ``activation``.
_OPTIONAL: dict[str, type] = {"activation": str}


@dataclass(frozen=True)
class Certificate:
    license_id: str
    machine_id: str
    product: str
    edition: str
    entitlements: frozenset[str]
    purchased_at: dt.date
    updates_until: dt.date
    fingerprint: str
    issued: int
    refresh_after: int
    nonce: str
    armored: str
    # None: made before certificates said how they were obtained (treated as online-refreshable,
    # but without the offline horizon, so an old air-gapped license never stops).
    activation: ActivationMode | None = None

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "v": FORMAT_VERSION,
            "license_id": self.license_id,
            "machine_id": self.machine_id,
            "product": self.product,
            "edition": self.edition,
            "entitlements": sorted(self.entitlements),
            "purchased_at": self.purchased_at.isoformat(),
            "updates_until": self.updates_until.isoformat(),
            "fingerprint": self.fingerprint,
            "issued": self.issued,
            "refresh_after": self.refresh_after,
            "nonce": self.nonce,
        }
        if self.activation is not None:
            payload["activation"] = self.activation.value
        return payload


def armor(envelope: bytes, label: str = LABEL) -> str:
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    body = base64.b64encode(envelope).decode("ascii")
    lines = [body[i : i + LINE_WIDTH] for i in range(0, len(body), LINE_WIDTH)]
    return "\n".join([begin, *lines, end]) + "\n"


def dearmor(data: bytes | str, label: str = LABEL) -> bytes:
    """The bytes inside an armored block (strict; size-capped first)."""
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    what = "license file" if label == LABEL else "activation file"
    if isinstance(data, str):
        try:
            data = data.encode("ascii")
        except UnicodeEncodeError:
            raise CertificateError("A license file contains only plain ASCII text.") from None
    if len(data) > MAX_FILE_BYTES:
        raise CertificateError("This file is far too large to be a Draftsmith license.")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise CertificateError("A license file contains only plain ASCII text.") from None
    lines = text.replace("\r\n", "\n").strip(" \t\n").split("\n")
    if not lines or lines[0] != begin:
        raise CertificateError(f"This is not a Draftsmith {what} (no header line).")
    if lines[-1] != end or len(lines) < 3:
        raise CertificateError(f"The {what} is cut short (no end line).")
    body_lines = lines[1:-1]
    for line in body_lines:
        if not _BASE64_LINE.fullmatch(line):
            if line in (begin, end):
                raise CertificateError(f"The {what} has its header or end line twice.")
            raise CertificateError(f"The {what} contains a damaged line.")
    return strict_b64decode("".join(body_lines), what)


def _date(value: str, field: str) -> dt.date:
    if not _DATE.fullmatch(value):
        raise CertificateError(f"The license's {field} is not a date.")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CertificateError(f"The license's {field} is not a date.") from None


def certificate_from_payload(payload: Mapping[str, Any], armored: str) -> Certificate:
    """Schema check of a verified payload: exact fields, exact types, sane values."""
    present = set(payload) - set(_OPTIONAL)
    if present != set(_FIELDS):
        extra = sorted(present - set(_FIELDS))
        missing = sorted(set(_FIELDS) - present)
        raise CertificateError(
            f"The license has the wrong fields (unexpected {extra}, missing {missing})."
        )
    for name, kind in {**_FIELDS, **_OPTIONAL}.items():
        if name not in payload:
            continue
        value = payload[name]
        # bool is an int in Python; a JSON true is not a number.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise CertificateError(f"The license's {name} has the wrong type.")
    if payload["v"] != FORMAT_VERSION:
        raise CertificateError("This license was made for a newer Draftsmith; please update.")
    entitlements = payload["entitlements"]
    if not all(isinstance(e, str) and TOKEN.fullmatch(e) for e in entitlements):
        raise CertificateError("The license's entitlements are malformed.")
    if len(set(entitlements)) != len(entitlements):
        raise CertificateError("The license lists an entitlement twice.")
    for name in ("license_id", "machine_id", "product", "nonce"):
        if not TOKEN.fullmatch(payload[name]):
            raise CertificateError(f"The license's {name} is malformed.")
    if not EDITION.fullmatch(payload["edition"]):
        raise CertificateError("The license's edition is malformed.")
    activation: ActivationMode | None = None
    if "activation" in payload:
        try:
            activation = ActivationMode(payload["activation"])
        except ValueError:
            raise CertificateError("The license's activation kind is unknown.") from None
    if not FINGERPRINT.fullmatch(payload["fingerprint"]):
        raise CertificateError("The license's machine fingerprint is malformed.")
    for name in ("issued", "refresh_after"):
        if not 0 <= payload[name] < 2**40:
            raise CertificateError(f"The license's {name} time is out of range.")
    return Certificate(
        license_id=payload["license_id"],
        machine_id=payload["machine_id"],
        product=payload["product"],
        edition=payload["edition"],
        entitlements=frozenset(entitlements),
        purchased_at=_date(payload["purchased_at"], "purchase date"),
        updates_until=_date(payload["updates_until"], "updates-until date"),
        fingerprint=payload["fingerprint"],
        issued=payload["issued"],
        refresh_after=payload["refresh_after"],
        nonce=payload["nonce"],
        armored=armored,
        activation=activation,
    )


def parse_certificate(
    data: bytes | str, trusted_keys: Mapping[str, Ed25519PublicKey]
) -> Certificate:
    """Size cap, strict armor, envelope, signature, then payload schema.

    Raises only ``CertificateError``. It does not check product, machine or clock: see
    ``check_certificate``.
    """
    envelope = dearmor(data)
    payload = open_envelope(envelope, DOCUMENT_TYPE, trusted_keys)
    text = data if isinstance(data, str) else data.decode("ascii")
    return certificate_from_payload(payload, armored=text.replace("\r\n", "\n"))


FUTURE_SLACK_S = 5 * 60


def check_certificate(cert: Certificate, *, fingerprint: str, now: float) -> None:
    """Is this verified certificate for this product, this machine, and not from the future?"""
    if cert.product != PRODUCT:
        raise CertificateError("This license is for a different product.")
    if cert.fingerprint != fingerprint:
        raise CertificateError(
            "This license was activated for a different computer. "
            "Activate it on this one (or deactivate the other machine first)."
        )
    if cert.issued > now + FUTURE_SLACK_S:
        raise CertificateError(
            "This license was issued in the future: please check this computer's date and time."
        )
