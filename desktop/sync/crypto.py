"""Keys and authenticated encryption for sync.

* The passphrase key comes from Argon2id; its parameters live on the remote so they can be
  raised later. It wraps a random 256-bit data key; so does a recovery key shown once.
* Document blobs are encrypted in 1 MiB chunks (AES-256-GCM, STREAM-style nonces with a
  last-chunk flag) under a per-blob key derived from the data key, a random salt and the
  document id + revision id. A blob moved to another document or revision, reordered or
  truncated fails to decrypt.
* Log records are AES-256-GCM with the remote id, device id and sequence number as
  associated data, so a replayed or swapped record fails to decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from desktop.sync.errors import RemoteTampered, WrongPassphrase

KEY_BYTES = 32
CHUNK_BYTES = 1024 * 1024
_TAG = 16
_BLOB_MAGIC = b"DSB1"
_SALT_BYTES = 16


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters. Production defaults follow OWASP's 'm=64 MiB, t=3, p=4'."""

    memory_kib: int = 64 * 1024
    iterations: int = 3
    lanes: int = 4

    def to_json(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KdfParams:
        return cls(
            memory_kib=int(data["memory_kib"]),
            iterations=int(data["iterations"]),
            lanes=int(data["lanes"]),
        )


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def passphrase_key(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    kdf = Argon2id(
        salt=salt,
        length=KEY_BYTES,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    return kdf.derive(passphrase.encode("utf-8"))


# Recovery key: 160 random bits written as 8 groups of 4 base32 characters.
def new_recovery_key() -> str:
    text = base64.b32encode(secrets.token_bytes(20)).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def recovery_key_bytes(recovery_key: str) -> bytes:
    cleaned = "".join(ch for ch in recovery_key.upper() if ch.isalnum())
    cleaned = cleaned.replace("0", "O").replace("1", "I").replace("8", "B")
    try:
        raw = base64.b32decode(cleaned)
    except (ValueError, base64.binascii.Error) as exc:  # type: ignore[attr-defined]
        raise WrongPassphrase(
            "That is not a valid recovery key (it has 32 letters and digits)."
        ) from exc
    if len(raw) != 20:
        raise WrongPassphrase("That is not a valid recovery key (it has 32 letters and digits).")
    return raw


def recovery_wrapping_key(recovery_key: str, remote_id: str) -> bytes:
    return _hkdf(
        recovery_key_bytes(recovery_key),
        b"recovery",
        b"draftsmith recovery v1|" + remote_id.encode(),
    )


def wrap_key(wrapping_key: bytes, data_key: bytes, context: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(wrapping_key).encrypt(nonce, data_key, b"draftsmith key v1|" + context)


def unwrap_key(wrapping_key: bytes, wrapped: bytes, context: bytes) -> bytes:
    try:
        return AESGCM(wrapping_key).decrypt(
            wrapped[:12], wrapped[12:], b"draftsmith key v1|" + context
        )
    except InvalidTag as exc:
        raise WrongPassphrase("The passphrase does not open this sync folder.") from exc


def key_check(data_key: bytes) -> str:
    """A public fingerprint of the data key, so a device can tell keys apart without secrets."""
    return _hkdf(data_key, b"check", b"draftsmith key check v1")[:8].hex()


def _hkdf(key: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=info).derive(key)


# --- log records ------------------------------------------------------------------------


def _record_ad(remote_id: str, device: str, seq: int) -> bytes:
    return f"draftsmith log v1|{remote_id}|{device}|{seq}".encode()


def encrypt_record(
    data_key: bytes, remote_id: str, device: str, seq: int, plaintext: bytes
) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(data_key).encrypt(nonce, plaintext, _record_ad(remote_id, device, seq))


def decrypt_record(
    data_key: bytes, remote_id: str, device: str, seq: int, ciphertext: bytes
) -> bytes:
    return _open(
        data_key,
        ciphertext,
        _record_ad(remote_id, device, seq),
        f"Log entry {seq} of device {device} failed its integrity check "
        "(the server returned a replayed, swapped or damaged entry). Nothing was applied.",
    )


# --- blobs ------------------------------------------------------------------------------


def _blob_key(data_key: bytes, salt: bytes, doc_id: str, rev_id: str) -> bytes:
    return _hkdf(data_key, salt, f"draftsmith blob v1|{doc_id}|{rev_id}".encode())


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def encrypt_blob(
    data_key: bytes, doc_id: str, rev_id: str, source: BinaryIO, sink: BinaryIO
) -> tuple[str, int]:
    """Encrypt ``source`` into ``sink`` chunk by chunk. Returns (sha256 of ciphertext, size)."""
    salt = os.urandom(_SALT_BYTES)
    aead = AESGCM(_blob_key(data_key, salt, doc_id, rev_id))
    digest = hashlib.sha256()
    size = 0

    def emit(data: bytes) -> None:
        nonlocal size
        sink.write(data)
        digest.update(data)
        size += len(data)

    emit(_BLOB_MAGIC + salt)
    counter = 0
    chunk = source.read(CHUNK_BYTES)
    while True:
        following = source.read(CHUNK_BYTES)
        last = not following
        emit(aead.encrypt(_nonce(counter, last), chunk, None))
        if last:
            break
        chunk = following
        counter += 1
    return digest.hexdigest(), size


def decrypt_blob_chunks(
    data_key: bytes, doc_id: str, rev_id: str, source: BinaryIO
) -> Iterator[bytes]:
    """Yield plaintext chunks; raises RemoteTampered on any mismatch or truncation."""
    header = source.read(len(_BLOB_MAGIC) + _SALT_BYTES)
    if len(header) != len(_BLOB_MAGIC) + _SALT_BYTES or not header.startswith(_BLOB_MAGIC):
        raise RemoteTampered(f"The stored version {rev_id} is not a Draftsmith blob.")
    aead = AESGCM(_blob_key(data_key, header[len(_BLOB_MAGIC) :], doc_id, rev_id))
    counter = 0
    chunk = source.read(CHUNK_BYTES + _TAG)
    while True:
        following = source.read(CHUNK_BYTES + _TAG)
        last = not following
        try:
            yield aead.decrypt(_nonce(counter, last), chunk, None)
        except (InvalidTag, ValueError) as exc:
            raise RemoteTampered(
                f"The stored version {rev_id} failed its integrity check "
                "(swapped, truncated or damaged on the server)."
            ) from exc
        if last:
            return
        chunk = following
        counter += 1


# --- checkpoints, applied positions, compaction leases ------------------------------------


def _sealed_ad(kind: str, remote_id: str, name: str) -> bytes:
    return f"draftsmith {kind} v1|{remote_id}|{name}".encode()


def seal(data_key: bytes, kind: str, remote_id: str, name: str, plaintext: bytes) -> bytes:
    """AES-256-GCM like a log record, bound to the file's kind and name on the server, so a
    file copied to another name (an older checkpoint replayed as a newer one) fails."""
    nonce = os.urandom(12)
    return nonce + AESGCM(data_key).encrypt(nonce, plaintext, _sealed_ad(kind, remote_id, name))


def open_sealed(data_key: bytes, kind: str, remote_id: str, name: str, ciphertext: bytes) -> bytes:
    return _open(
        data_key,
        ciphertext,
        _sealed_ad(kind, remote_id, name),
        f"The sync folder's {kind} file {name} failed its integrity check (replayed, "
        "swapped or damaged on the server). Nothing was applied.",
    )


def _open(data_key: bytes, ciphertext: bytes, associated: bytes, tampered: str) -> bytes:
    """AES-256-GCM open of ``nonce + ciphertext``; any failure is ``tampered``."""
    try:
        return AESGCM(data_key).decrypt(ciphertext[:12], ciphertext[12:], associated)
    except (InvalidTag, ValueError) as exc:
        raise RemoteTampered(tampered) from exc
