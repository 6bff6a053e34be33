"""Keys and authenticated encryption: tampering of any kind is detected."""

from __future__ import annotations

import io
import os

import pytest

from desktop.sync import crypto, errors
from tests.sync.dav_harness import TEST_KDF


def _encrypt(data: bytes, doc: str = "doc", rev: str = "rev") -> tuple[bytes, bytes]:
    key = crypto.new_data_key()
    sink = io.BytesIO()
    digest, size = crypto.encrypt_blob(key, doc, rev, io.BytesIO(data), sink)
    assert size == len(sink.getvalue())
    import hashlib

    assert digest == hashlib.sha256(sink.getvalue()).hexdigest()
    return key, sink.getvalue()


def _decrypt(key: bytes, blob: bytes, doc: str = "doc", rev: str = "rev") -> bytes:
    return b"".join(crypto.decrypt_blob_chunks(key, doc, rev, io.BytesIO(blob)))


@pytest.mark.parametrize("size", [0, 1, crypto.CHUNK_BYTES, 2 * crypto.CHUNK_BYTES + 5])
def test_blob_round_trip(size: int) -> None:
    data = os.urandom(size)
    key, blob = _encrypt(data)
    assert _decrypt(key, blob) == data
    if size >= 64:  # the plaintext does not show through
        assert data[:64] not in blob


def test_blob_bound_to_document_and_revision() -> None:
    key, blob = _encrypt(b"secret text")
    with pytest.raises(errors.RemoteTampered):
        _decrypt(key, blob, doc="other")
    with pytest.raises(errors.RemoteTampered):
        _decrypt(key, blob, rev="older")


def test_truncated_reordered_or_flipped_blobs_fail() -> None:
    data = os.urandom(2 * crypto.CHUNK_BYTES + 100)
    key, blob = _encrypt(data)
    header, chunk = 20, crypto.CHUNK_BYTES + 16
    first, second = blob[header : header + chunk], blob[header + chunk : header + 2 * chunk]
    cases = {
        "dropped last chunk": blob[: header + 2 * chunk],
        "reordered": blob[:header] + second + first + blob[header + 2 * chunk :],
        "flipped bit": blob[:100] + bytes([blob[100] ^ 1]) + blob[101:],
        "cut mid-chunk": blob[: header + 500],
        "no header": blob[:10],
    }
    for name, damaged in cases.items():
        with pytest.raises(errors.RemoteTampered):
            _decrypt(key, damaged)
            pytest.fail(name)


def test_records_bound_to_device_and_sequence() -> None:
    key = crypto.new_data_key()
    ct = crypto.encrypt_record(key, "remote", "dev1", 3, b'{"x":1}')
    assert crypto.decrypt_record(key, "remote", "dev1", 3, ct) == b'{"x":1}'
    for remote, device, seq in [("remote", "dev1", 4), ("remote", "dev2", 3), ("other", "dev1", 3)]:
        with pytest.raises(errors.RemoteTampered, match="integrity"):
            crypto.decrypt_record(key, remote, device, seq, ct)


def test_passphrase_and_recovery_wrapping() -> None:
    data_key = crypto.new_data_key()
    salt = os.urandom(16)
    kek = crypto.passphrase_key("a long passphrase", salt, TEST_KDF)
    wrapped = crypto.wrap_key(kek, data_key, b"r|passphrase")
    assert crypto.unwrap_key(kek, wrapped, b"r|passphrase") == data_key
    wrong = crypto.passphrase_key("a long passphrasE", salt, TEST_KDF)
    with pytest.raises(errors.WrongPassphrase):
        crypto.unwrap_key(wrong, wrapped, b"r|passphrase")

    recovery = crypto.new_recovery_key()
    assert len(recovery.replace("-", "")) == 32
    kek2 = crypto.recovery_wrapping_key(recovery, "r")
    # Typed in lower case, without dashes: same key.
    assert crypto.recovery_wrapping_key(recovery.lower().replace("-", " "), "r") == kek2
    with pytest.raises(errors.WrongPassphrase, match="not a valid recovery key"):
        crypto.recovery_wrapping_key("ABCD-EFGH", "r")


def test_production_kdf_defaults_are_strong() -> None:
    params = crypto.KdfParams()
    assert params.memory_kib >= 64 * 1024 and params.iterations >= 3
    assert crypto.KdfParams.from_json(params.to_json()) == params
