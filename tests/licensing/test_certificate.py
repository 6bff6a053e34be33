"""The certificate parser against every malformed or forged file in issue 6's list."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from licensing.client.certificate import (
    MAX_FILE_BYTES,
    armor,
    check_certificate,
    dearmor,
    parse_certificate,
)
from licensing.client.errors import CertificateError
from licensing.client.fingerprint import fingerprint_of, machine_fingerprint
from licensing.client.signed_document import encode_envelope, signed_message
from licensing.client.trusted_keys import trusted_keys
from licensing.server.signing import Signer, canonical_json
from tests.licensing.conftest import TEST_KID, cert_payload

NOW = 1_780_000_100


def make(signer: Signer, **changes: object) -> str:
    return signer.certificate(cert_payload(**changes))


def forged(
    private_key: Ed25519PrivateKey,
    payload_bytes: bytes,
    *,
    prefix: str = "license",
    alg: str = "Ed25519",
    kid: str = TEST_KID,
    sig: bytes | None = None,
    extra: dict[str, str] | None = None,
) -> str:
    signature = sig if sig is not None else private_key.sign(signed_message(prefix, payload_bytes))
    envelope = json.loads(encode_envelope(alg, kid, payload_bytes, signature))
    envelope.update(extra or {})
    return armor(json.dumps(envelope).encode())


def envelope_of(text: str) -> dict[str, str]:
    return json.loads(dearmor(text))


def with_envelope(envelope: dict[str, str]) -> str:
    return armor(json.dumps(envelope).encode())


def test_a_genuine_certificate_verifies_and_is_for_this_machine(signer: Signer) -> None:
    cert = parse_certificate(make(signer), trusted_keys())
    check_certificate(cert, fingerprint=machine_fingerprint(), now=NOW)
    assert cert.license_id == "lic_test"
    assert cert.entitlements == {"ai", "sync"}
    assert str(cert.updates_until) == "2027-01-10"


def test_compiled_table_does_not_trust_the_test_key(signer: Signer) -> None:
    """Outside the test seam only the vendor's compiled keys count."""
    from licensing.client import trusted_keys as table

    text = make(signer)
    with pytest.raises(CertificateError, match="key Draftsmith does not know"):
        parse_certificate(text, table._TRUSTED)


@pytest.mark.parametrize("where", ["payload", "sig"])
def test_every_single_bit_flip_is_refused(signer: Signer, where: str) -> None:
    envelope = envelope_of(make(signer))
    raw = bytearray(base64.b64decode(envelope[where]))
    for bit in range(0, len(raw) * 8, 7):  # a spread of positions across the whole field
        flipped = bytearray(raw)
        flipped[bit // 8] ^= 1 << (bit % 8)
        tampered = dict(envelope, **{where: base64.b64encode(bytes(flipped)).decode()})
        with pytest.raises(CertificateError):
            parse_certificate(with_envelope(tampered), trusted_keys())


@pytest.mark.parametrize(
    "signature",
    [b"", b"\x00" * 64, b"\x00" * 65, b"\x01" * 63],
    ids=["empty", "all-zero", "65-bytes", "truncated"],
)
def test_bad_signatures(private_key: Ed25519PrivateKey, signature: bytes) -> None:
    text = forged(private_key, canonical_json(cert_payload()), sig=signature)
    with pytest.raises(CertificateError):
        parse_certificate(text, trusted_keys())


def test_truncated_real_signature(private_key: Ed25519PrivateKey, signer: Signer) -> None:
    envelope = envelope_of(make(signer))
    short = base64.b64encode(base64.b64decode(envelope["sig"])[:40]).decode()
    with pytest.raises(CertificateError, match="wrong length"):
        parse_certificate(with_envelope(dict(envelope, sig=short)), trusted_keys())


def test_signature_for_another_document_type_is_refused(private_key: Ed25519PrivateKey) -> None:
    payload = canonical_json(cert_payload())
    text = forged(private_key, payload, prefix="response")
    with pytest.raises(CertificateError, match="signature does not match"):
        parse_certificate(text, trusted_keys())
    # The same bytes signed as a license pass: the prefix is the only difference.
    parse_certificate(forged(private_key, payload), trusted_keys())


@pytest.mark.parametrize("alg", ["none", "None", "HS256", "ed25519", "EdDSA", ""])
def test_alg_none_or_unknown(private_key: Ed25519PrivateKey, alg: str) -> None:
    text = forged(private_key, canonical_json(cert_payload()), alg=alg)
    with pytest.raises(CertificateError, match="algorithm"):
        parse_certificate(text, trusted_keys())


def test_key_supplied_inside_the_file_is_never_used() -> None:
    attacker = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    public = attacker.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    payload = canonical_json(cert_payload())
    # The attacker's key named in the file, with the attacker's signature ...
    with_key = forged(attacker, payload, extra={"jwk": base64.b64encode(public).decode()})
    with pytest.raises(CertificateError, match="wrong fields"):
        parse_certificate(with_key, trusted_keys())
    # ... or under a key id of their own ...
    with pytest.raises(CertificateError, match="key Draftsmith does not know"):
        parse_certificate(forged(attacker, payload, kid="attacker-1"), trusted_keys())
    # ... or under our key id: the signature does not verify with our key.
    with pytest.raises(CertificateError, match="signature does not match"):
        parse_certificate(forged(attacker, payload, kid=TEST_KID), trusted_keys())


def test_duplicated_armor_lines(signer: Signer) -> None:
    lines = make(signer).splitlines()
    doubled_begin = "\n".join([lines[0], *lines])
    doubled_end = "\n".join([*lines, lines[-1]])
    doubled_body = "\n".join([lines[0], lines[1], *lines[1:]])
    for text in (doubled_begin, doubled_end, doubled_body):
        with pytest.raises(CertificateError):
            parse_certificate(text, trusted_keys())


def test_crlf_line_endings_are_accepted(signer: Signer) -> None:
    text = make(signer)
    cert = parse_certificate(text.replace("\n", "\r\n"), trusted_keys())
    assert cert.armored == text


def test_url_safe_and_unpadded_base64_are_refused(signer: Signer) -> None:
    # Inner fields:
    envelope = envelope_of(make(signer))
    sig = base64.b64decode(envelope["sig"])
    for variant in (
        base64.urlsafe_b64encode(sig).decode(),
        base64.b64encode(sig).decode().rstrip("="),
    ):
        if variant == envelope["sig"]:
            continue
        with pytest.raises(CertificateError, match="base64"):
            parse_certificate(with_envelope(dict(envelope, sig=variant)), trusted_keys())
    payload = base64.b64decode(envelope["payload"]) + b" " * 2  # forces padding
    unpadded = base64.b64encode(payload).decode().rstrip("=")
    with pytest.raises(CertificateError, match="base64"):
        parse_certificate(with_envelope(dict(envelope, payload=unpadded)), trusted_keys())
    # The armor body:
    body = base64.b64encode(json.dumps(envelope).encode() + b"  ").decode()
    assert "=" in body
    for bad in (body.rstrip("="), body.replace("+", "-").replace("/", "_")):
        text = "-----BEGIN DRAFTSMITH LICENSE-----\n" + bad + "\n-----END DRAFTSMITH LICENSE-----"
        with pytest.raises(CertificateError):
            parse_certificate(text, trusted_keys())


def test_duplicate_json_keys(private_key: Ed25519PrivateKey, signer: Signer) -> None:
    payload = canonical_json(cert_payload())
    dup_payload = payload[:-1] + b',"edition":"pro"}'
    with pytest.raises(CertificateError, match="repeats the field 'edition'"):
        parse_certificate(forged(private_key, dup_payload), trusted_keys())
    envelope_text = json.dumps(envelope_of(make(signer)))
    dup_envelope = envelope_text[:-1] + ', "alg": "none"}'
    with pytest.raises(CertificateError, match="repeats the field 'alg'"):
        parse_certificate(armor(dup_envelope.encode()), trusted_keys())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("v", "1"),
        ("v", True),
        ("v", 1.0),
        ("issued", "1780000000"),
        ("issued", True),
        ("issued", 1.5e9),
        ("entitlements", "ai,sync"),
        ("entitlements", [1, 2]),
        ("entitlements", ["ai", "ai"]),
        ("entitlements", [["ai"]]),
        ("fingerprint", 5),
        ("product", None),
        ("updates_until", "2027-02-30"),
        ("updates_until", "20270101"),
        ("issued", -1),
        ("license_id", ""),
        ("nonce", {"a": 1}),
    ],
)
def test_wrong_types_and_values(private_key: Ed25519PrivateKey, field: str, value: object) -> None:
    payload = canonical_json(cert_payload(**{field: value}))
    with pytest.raises(CertificateError):
        parse_certificate(forged(private_key, payload), trusted_keys())


def test_missing_and_unknown_fields(private_key: Ed25519PrivateKey) -> None:
    missing = cert_payload()
    del missing["updates_until"]
    for payload in (missing, cert_payload(admin=True)):
        with pytest.raises(CertificateError, match="wrong fields"):
            parse_certificate(forged(private_key, canonical_json(payload)), trusted_keys())


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity(private_key: Ed25519PrivateKey, constant: str) -> None:
    payload = canonical_json(cert_payload()).replace(
        b'"issued":1780000000', f'"issued":{constant}'.encode()
    )
    assert constant.encode() in payload
    with pytest.raises(CertificateError, match=constant):
        parse_certificate(forged(private_key, payload), trusted_keys())


def test_deep_nesting(private_key: Ed25519PrivateKey) -> None:
    deep = b"[" * 3000 + b"]" * 3000
    payload = canonical_json(cert_payload()).replace(b'"nonce":"n0nce"', b'"nonce":' + deep)
    with pytest.raises(CertificateError):
        parse_certificate(forged(private_key, payload), trusted_keys())
    deep_envelope = b'{"alg":' + b"[" * 5000 + b"]" * 5000 + b"}"
    with pytest.raises(CertificateError):
        parse_certificate(armor(deep_envelope), trusted_keys())


def test_ten_megabyte_file_is_refused_before_parsing(signer: Signer) -> None:
    text = make(signer)
    huge = text + "A" * (10 * 1024 * 1024)
    with pytest.raises(CertificateError, match="too large"):
        parse_certificate(huge.encode(), trusted_keys())
    assert len(text) < MAX_FILE_BYTES


def test_empty_and_garbage_files() -> None:
    for data in (b"", b"\x00" * 100, "ünïcode".encode(), b"-----BEGIN DRAFTSMITH LICENSE-----"):
        with pytest.raises(CertificateError):
            parse_certificate(data, trusted_keys())


def test_certificate_for_another_product(signer: Signer) -> None:
    cert = parse_certificate(make(signer, product="otherapp"), trusted_keys())
    with pytest.raises(CertificateError, match="different product"):
        check_certificate(cert, fingerprint=machine_fingerprint(), now=NOW)


def test_certificate_for_another_machine(signer: Signer) -> None:
    cert = parse_certificate(make(signer, fingerprint=fingerprint_of("laptop-2")), trusted_keys())
    with pytest.raises(CertificateError, match="different computer"):
        check_certificate(cert, fingerprint=machine_fingerprint(), now=NOW)


def test_issued_in_the_future(signer: Signer) -> None:
    cert = parse_certificate(make(signer, issued=NOW + 301), trusted_keys())
    with pytest.raises(CertificateError, match="issued in the future"):
        check_certificate(cert, fingerprint=machine_fingerprint(), now=NOW)
    # up to five minutes of clock difference is fine
    ok = parse_certificate(make(signer, issued=NOW + 299), trusted_keys())
    check_certificate(ok, fingerprint=machine_fingerprint(), now=NOW)


@pytest.mark.parametrize("edition", ["Pro Edition", "x" * 41, "-pro"])
def test_an_edition_outside_the_shared_rule_is_refused(signer: Signer, edition: str) -> None:
    from tests.licensing.conftest import cert_payload

    with pytest.raises(CertificateError, match="edition is malformed"):
        parse_certificate(signer.certificate(cert_payload(edition=edition)), trusted_keys())
