"""Property tests: the parser raises nothing but ``CertificateError`` and never accepts
what was not signed."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from licensing.client.certificate import armor, dearmor, parse_certificate
from licensing.client.errors import CertificateError
from licensing.client.trusted_keys import trusted_keys
from licensing.server.signing import Signer
from tests.licensing.conftest import cert_payload

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def accepted(data: bytes | str) -> bool:
    try:
        parse_certificate(data, trusted_keys())
    except CertificateError:
        return False
    return True


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_are_refused_cleanly(data: bytes) -> None:
    assert not accepted(data)


@FUZZ
@given(st.binary(max_size=600))
def test_random_armored_bodies_are_refused_cleanly(body: bytes) -> None:
    assert not accepted(armor(body))


@FUZZ
@given(st.dictionaries(st.sampled_from(["alg", "kid", "payload", "sig", "x"]), json_values))
def test_random_envelopes_are_refused_cleanly(envelope: dict) -> None:
    assert not accepted(armor(json.dumps(envelope).encode()))


@FUZZ
@given(data=st.data())
def test_any_mutation_of_a_signed_file_is_refused(signer: Signer, data: st.DataObject) -> None:
    genuine = signer.certificate(cert_payload())
    raw = bytearray(genuine.encode())
    position = data.draw(st.integers(0, len(raw) - 1))
    replacement = data.draw(st.integers(0, 255))
    if raw[position] == replacement:
        return
    original = bytes(raw)
    raw[position] = replacement
    mutated = bytes(raw)
    if accepted(mutated):
        # Only line-ending/whitespace edits around the armor may still parse, and then the
        # signed content must be byte-for-byte the original one.
        assert dearmor(mutated) == dearmor(original)


finite_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(st.text(max_size=10), finite_values, max_size=12))
def test_payloads_signed_by_another_key_are_never_accepted(changes: dict) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tests.licensing.conftest import TEST_KID

    stranger = Signer(Ed25519PrivateKey.generate(), TEST_KID)
    assert not accepted(armor(stranger.envelope("license", {**cert_payload(), **changes})))
