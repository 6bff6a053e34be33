"""Signing certificates and API answers with the vendor's Ed25519 private key."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from licensing.client import certificate as cert_format
from licensing.client.signed_document import ALGORITHM, encode_envelope, signed_message


class SigningKeyError(Exception):
    pass


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False).encode("utf-8")


class Signer:
    def __init__(self, private_key: Ed25519PrivateKey, kid: str) -> None:
        self.private_key = private_key
        self.kid = kid

    def envelope(self, document_type: str, payload: dict[str, Any]) -> bytes:
        raw = canonical_json(payload)
        signature = self.private_key.sign(signed_message(document_type, raw))
        return encode_envelope(ALGORITHM, self.kid, raw, signature)

    def certificate(self, payload: dict[str, Any]) -> str:
        return cert_format.armor(self.envelope(cert_format.DOCUMENT_TYPE, payload))

    def public_key_b64(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return base64.b64encode(raw).decode("ascii")


def load_signer(path: Path, kid: str) -> Signer:
    """Load a PEM private key; refuse one other users could read."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as error:
        raise SigningKeyError(f"Cannot read the signing key {path}: {error.strerror}") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyError(
            f"The signing key {path} is readable by other users; run: chmod 600 {path}"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise SigningKeyError(f"{path} is not a PEM private key.") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 key.")
    return Signer(key, kid)


def write_private_key(path: Path) -> Signer:
    """Create a new key pair; the private key file gets mode 0600 and must not exist yet."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    return Signer(key, kid="")
