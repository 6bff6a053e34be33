"""The client against the real server on 127.0.0.1: activate, refresh, machines, deactivate,
offline activation, and everything a fake or hostile server might answer."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from licensing.client import (
    ActivationClient,
    ActivationError,
    CertificateError,
    LicenseKeyError,
    import_license,
    license_status,
    offline_request,
    status,
)
from licensing.client.fingerprint import fingerprint_of
from licensing.client.keyring_store import KeyringStore
from licensing.client.license_files import read_certificate_bytes
from licensing.client.license_key import generate_key
from licensing.server.models import REFUNDED, REVOKED, SUSPENDED
from licensing.server.signing import Signer
from tests.keyring_memory import MemoryKeyring
from tests.licensing.conftest import RunningServer


def other_machine(server: RunningServer, key: str, name: str) -> requests.Response:
    return requests.post(
        f"{server.url}/v1/activate",
        json={
            "key": key,
            "fingerprint": fingerprint_of(name),
            "machine_name": name,
            "nonce": secrets.token_hex(8),
        },
        timeout=10,
    )


def test_activate_saves_a_verified_certificate_and_remembers_the_key(
    server: RunningServer, memory_keyring: MemoryKeyring
) -> None:
    license_id, key = server.mint(edition="pro")
    activation = ActivationClient(server.url).activate(key.lower().replace("-", " "))
    assert activation.certificate.license_id == license_id
    assert activation.certificate.edition == "pro"
    assert activation.key_remembered
    assert KeyringStore().license_key() == key
    assert [m.this_machine for m in activation.machines] == [True]
    now = license_status()
    assert now.state == status.LICENSED and now.allows("ai")


def test_reactivating_the_same_machine_returns_its_seat(server: RunningServer) -> None:
    _, key = server.mint(seats=1)
    first = ActivationClient(server.url).activate(key)
    second = ActivationClient(server.url).activate(key)
    assert first.certificate.machine_id == second.certificate.machine_id
    assert len(second.machines) == 1


@pytest.mark.parametrize(
    ("license_status_", "code"),
    [(SUSPENDED, "SUSPENDED"), (REFUNDED, "REFUNDED"), (REVOKED, "REVOKED")],
)
def test_withdrawn_licenses_are_refused(
    server: RunningServer, license_status_: str, code: str
) -> None:
    _, key = server.mint(status=license_status_)
    with pytest.raises(ActivationError) as info:
        ActivationClient(server.url).activate(key)
    assert info.value.code == code
    assert read_certificate_bytes() is None


def test_unknown_key_and_typo(server: RunningServer) -> None:
    with pytest.raises(ActivationError) as info:
        ActivationClient(server.url).activate(generate_key())
    assert info.value.code == "NOT_FOUND"
    assert "check it against your purchase e-mail" in str(info.value)
    with pytest.raises(LicenseKeyError, match="typo"):
        key = generate_key()
        ActivationClient(server.url).activate(key[:-1] + ("0" if key[-1] != "0" else "1"))


def test_seat_limit_lists_the_machines_and_deactivation_frees_one(server: RunningServer) -> None:
    _, key = server.mint(seats=2)
    assert other_machine(server, key, "desk").status_code == 201
    assert other_machine(server, key, "laptop").status_code == 201
    client = ActivationClient(server.url)
    with pytest.raises(ActivationError) as info:
        client.activate(key)
    assert info.value.code == "TOO_MANY_MACHINES"
    assert sorted(m["name"] for m in info.value.machines) == ["desk", "laptop"]
    listed = client.machines(key)
    desk = next(m for m in listed if m.name == "desk")
    remaining = client.deactivate(desk.id, key=key)
    assert [m.name for m in remaining] == ["laptop"]
    activation = client.activate(key)
    assert sorted(m.name for m in activation.machines)[0] == "laptop"
    assert sum(m.this_machine for m in client.machines()) == 1


def test_deactivating_someone_elses_machine_is_refused(server: RunningServer) -> None:
    _, key_a = server.mint()
    _, key_b = server.mint()
    victim = other_machine(server, key_b, "victim").json()
    assert victim  # a signed envelope
    client = ActivationClient(server.url)
    victim_id = client.machines(key_b)[0].id
    with pytest.raises(ActivationError) as info:
        client.deactivate(victim_id, key=key_a)
    assert info.value.code == "NOT_FOUND"
    assert [m.id for m in client.machines(key_b)] == [victim_id]


def test_deactivating_this_machine_removes_certificate_and_key(server: RunningServer) -> None:
    _, key = server.mint()
    client = ActivationClient(server.url)
    client.activate(key)
    assert client.deactivate() == []
    assert read_certificate_bytes() is None
    assert KeyringStore().license_key() is None
    assert license_status().state == status.TRIAL


def test_refresh_renews_and_a_refund_withdraws_the_license(server: RunningServer) -> None:
    license_id, key = server.mint()
    client = ActivationClient(server.url)
    first = client.activate(key).certificate
    renewed = client.refresh()
    assert renewed.license_id == license_id and renewed.nonce != first.nonce
    with server.sessions() as session, session.begin():
        from licensing.server.licenses import set_status

        set_status(session, license_id, REFUNDED)
    with pytest.raises(ActivationError) as info:
        client.refresh()
    assert info.value.code == "REFUNDED"
    assert read_certificate_bytes() is None
    later = license_status()
    assert "refunded" in later.reason


def test_network_down_is_a_plain_error() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with pytest.raises(ActivationError) as info:
        ActivationClient(f"http://127.0.0.1:{port}", timeout=2).activate(generate_key())
    assert info.value.code == "NETWORK"
    assert "offline activation" in str(info.value)


# -- fake servers ---------------------------------------------------------------------
class FakeServer:
    def __init__(self) -> None:
        self.reply: bytes | None = None
        self.make_reply = None
        self.status = 200
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                reply = owner.make_reply(body) if owner.make_reply else owner.reply
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()


@pytest.fixture()
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def test_unsigned_valid_answer_is_refused(fake: FakeServer) -> None:
    fake.reply = json.dumps({"ok": True, "data": {"certificate": "x"}}).encode()
    with pytest.raises(ActivationError) as info:
        ActivationClient(fake.url).activate(generate_key())
    assert info.value.code == "BAD_RESPONSE"
    assert read_certificate_bytes() is None


def test_replayed_genuine_answer_is_refused(server: RunningServer, fake: FakeServer) -> None:
    _, key = server.mint()
    from licensing.client.fingerprint import machine_fingerprint

    captured = requests.post(
        f"{server.url}/v1/activate",
        json={
            "key": key,
            "fingerprint": machine_fingerprint(),
            "machine_name": "x",
            "nonce": "old-nonce",
        },
        timeout=10,
    )
    assert captured.status_code == 201
    fake.reply, fake.status = captured.content, 201
    with pytest.raises(ActivationError, match="different request") as info:
        ActivationClient(fake.url).activate(key)
    assert info.value.code == "BAD_RESPONSE"


def _signed_reply(signer: Signer, doc_type: str, **changes: object):
    def make(body: dict) -> bytes:
        payload = {
            "v": 1,
            "nonce": body["nonce"],
            "issued": int(time.time()),
            "status": 200,
            "ok": True,
            "data": {"certificate": "x", "machines": []},
        }
        payload.update(changes)
        return signer.envelope(doc_type, payload)

    return make


def test_stale_answer_is_refused(fake: FakeServer, signer: Signer) -> None:
    fake.make_reply = _signed_reply(signer, "response", issued=int(time.time()) - 3600)
    with pytest.raises(ActivationError, match="stale"):
        ActivationClient(fake.url).activate(generate_key())


def test_answer_signed_as_another_document_type_is_refused(
    fake: FakeServer, signer: Signer
) -> None:
    fake.make_reply = _signed_reply(signer, "license")
    with pytest.raises(ActivationError, match="not signed"):
        ActivationClient(fake.url).activate(generate_key())


def test_answer_signed_by_another_key_is_refused(fake: FakeServer) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tests.licensing.conftest import TEST_KID

    impostor = Signer(Ed25519PrivateKey.generate(), TEST_KID)
    fake.make_reply = _signed_reply(impostor, "response")
    with pytest.raises(ActivationError, match="not signed"):
        ActivationClient(fake.url).activate(generate_key())


def test_status_mismatch_is_refused(fake: FakeServer, signer: Signer) -> None:
    fake.make_reply = _signed_reply(signer, "response", status=201)
    with pytest.raises(ActivationError, match="status does not match"):
        ActivationClient(fake.url).activate(generate_key())


def test_connection_dropped_mid_answer_is_a_network_error() -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer_half() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b'Content-Length: 5000\r\n\r\n{"alg":'
        )
        conn.close()

    thread = threading.Thread(target=answer_half, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    with pytest.raises(ActivationError) as info:
        ActivationClient(url, timeout=5).activate(generate_key())
    thread.join(timeout=5)
    listener.close()
    assert info.value.code == "NETWORK"
    assert read_certificate_bytes() is None


def test_huge_answer_is_refused(fake: FakeServer) -> None:
    fake.reply = b"{" + b" " * (200 * 1024) + b"}"
    with pytest.raises(ActivationError, match="too large"):
        ActivationClient(fake.url).activate(generate_key())


# -- the API itself -------------------------------------------------------------------
def test_malformed_requests_get_a_signed_bad_request(server: RunningServer) -> None:
    from licensing.client.server_response import verify_response
    from licensing.client.trusted_keys import trusted_keys

    for body in (
        {"key": 5, "fingerprint": "0" * 64, "machine_name": "x", "nonce": "n1"},
        {"key": "k", "fingerprint": "xyz", "machine_name": "x", "nonce": "n1"},
        {"key": "k", "fingerprint": "0" * 64, "machine_name": "x", "nonce": "n1", "admin": 1},
    ):
        reply = requests.post(f"{server.url}/v1/activate", json=body, timeout=10)
        assert reply.status_code == 400
        with pytest.raises(ActivationError) as info:
            verify_response(
                reply.content,
                http_status=400,
                nonce="n1",
                method="POST",
                path="/v1/activate",
                now=time.time(),
                trusted_keys=trusted_keys(),
            )
        assert info.value.code == "BAD_REQUEST"
    garbage = requests.post(f"{server.url}/v1/activate", data=b"\x00not json", timeout=10)
    assert garbage.status_code == 400


def test_health_and_openapi(server: RunningServer) -> None:
    assert requests.get(f"{server.url}/v1/health", timeout=10).json() == {"status": "ok"}
    schema = requests.get(f"{server.url}/openapi.json", timeout=10).json()
    assert {
        "/v1/activate",
        "/v1/validate",
        "/v1/deactivate",
        "/v1/machines",
        "/v1/offline/activate",
        "/v1/webhooks/stripe",
    } <= set(schema["paths"])


# -- offline activation ---------------------------------------------------------------
def test_offline_activation_through_the_web_page(server: RunningServer) -> None:
    license_id, key = server.mint()
    request_text = offline_request(key)
    page = requests.get(f"{server.url}/offline", timeout=10)
    assert page.status_code == 200 and "Activate Draftsmith offline" in page.text
    # the buyer uploads the request file on another device ...
    reply = requests.post(
        f"{server.url}/offline",
        files={"request_file": ("request.txt", request_text.encode(), "text/plain")},
        timeout=10,
    )
    assert reply.status_code == 200
    assert "attachment" in reply.headers["Content-Disposition"]
    # ... and imports the file on the offline machine
    cert = import_license(reply.content)
    assert cert.license_id == license_id
    assert license_status().state == status.LICENSED
    # pasting the same request again returns the same seat
    again = requests.post(f"{server.url}/offline", data={"request_text": request_text}, timeout=10)
    assert again.status_code == 200
    assert import_license(again.text).machine_id == cert.machine_id


def test_offline_page_explains_bad_requests(server: RunningServer) -> None:
    reply = requests.post(f"{server.url}/offline", data={"request_text": "hello"}, timeout=10)
    assert reply.status_code == 400
    assert "not a valid activation request" in reply.text
    _, key = server.mint(status=REFUNDED)
    refused = requests.post(
        f"{server.url}/offline", data={"request_text": offline_request(key)}, timeout=10
    )
    assert refused.status_code == 403 and "refunded" in refused.text


def test_offline_activation_api(server: RunningServer) -> None:
    from licensing.client.server_response import verify_response
    from licensing.client.trusted_keys import trusted_keys

    _, key = server.mint()
    reply = requests.post(
        f"{server.url}/v1/offline/activate",
        json={"request": offline_request(key), "nonce": "abc"},
        timeout=10,
    )
    assert reply.status_code == 201
    data = verify_response(
        reply.content,
        http_status=201,
        nonce="abc",
        method="POST",
        path="/v1/offline/activate",
        now=time.time(),
        trusted_keys=trusted_keys(),
    )
    assert import_license(data["certificate"]).product == "draftsmith"


def test_importing_a_license_for_another_machine_is_refused(
    server: RunningServer, signer: Signer
) -> None:
    from tests.licensing.conftest import cert_payload

    text = signer.certificate(cert_payload(fingerprint=fingerprint_of("other")))
    with pytest.raises(CertificateError, match="different computer"):
        import_license(text)
    assert read_certificate_bytes() is None


def test_refresh_if_due_renews_only_when_due(tmp_path, signer: Signer) -> None:
    from licensing.client import refresh_if_due
    from licensing.server.database import make_engine
    from tests.licensing.conftest import running_server, settings_for

    url = f"sqlite:///{tmp_path / 'due.db'}"
    for refresh_days, expect_renewal in ((30, False), (0, True)):
        settings = settings_for(url, refresh_days=refresh_days)
        with running_server(settings, signer, make_engine(url)) as srv:
            _, key = srv.mint()
            client = ActivationClient(srv.url)
            first = client.activate(key).certificate
            renewed = refresh_if_due(client)
            assert (renewed is not None) == expect_renewal
            if renewed is not None:
                assert renewed.nonce != first.nonce
    # server gone: still licensed, nothing raised
    assert refresh_if_due(ActivationClient(srv.url, timeout=2)) is None
    assert license_status().state == status.LICENSED


def test_the_desktop_side_never_imports_the_vendor_server() -> None:
    import subprocess
    import sys

    code = (
        "import sys, licensing.client, desktop.ui.license_dialog\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('licensing.server', "
        "'licensing.tools', 'fastapi', 'sqlalchemy', 'uvicorn')))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_activation_clears_a_clock_once_set_too_far_ahead(
    server: RunningServer, memory_keyring: MemoryKeyring
) -> None:
    from licensing.client.license_files import update_state
    from licensing.client.paths import KEYRING_SERVICE

    _, key = server.mint()
    ActivationClient(server.url).activate(key)
    next_year = str(int(time.time()) + 365 * 86400)  # the clock was a year ahead last time
    memory_keyring.entries[(KEYRING_SERVICE, "last-seen")] = next_year
    update_state(last_seen=int(next_year))
    status.invalidate_status_cache()
    stuck = license_status()
    assert stuck.state == status.CLOCK_PROBLEM and "activate again" in stuck.reason
    ActivationClient(server.url).activate(key)  # the server's signed clock is the reference
    assert license_status().state == status.LICENSED
    assert int(memory_keyring.entries[(KEYRING_SERVICE, "last-seen")]) <= time.time() + 5


# -- withdrawals reach the machine; old copies stay refused ---------------------------------
def revoke(server: RunningServer, license_id: str, new_status: str = REVOKED) -> None:
    from licensing.server import licenses

    with server.sessions() as session, session.begin():
        licenses.set_status(session, license_id, new_status)


def test_online_and_offline_certificates_say_how_they_were_obtained(
    server: RunningServer,
) -> None:
    from licensing.protocol import ActivationMode

    _, key = server.mint()
    online = ActivationClient(server.url).activate(key).certificate
    assert online.activation is ActivationMode.ONLINE
    reply = requests.post(
        f"{server.url}/offline", files={"request_text": (None, offline_request(key))}, timeout=10
    )
    assert reply.status_code == 200
    assert import_license(reply.content).activation is ActivationMode.OFFLINE


@pytest.mark.parametrize("withdrawn_as", [REVOKED, REFUNDED, SUSPENDED])
def test_a_withdrawn_license_is_remembered_and_its_old_copy_refused(
    server: RunningServer, withdrawn_as: str
) -> None:
    license_id, key = server.mint()
    client = ActivationClient(server.url)
    client.activate(key)
    old_copy = read_certificate_bytes()
    assert old_copy is not None
    revoke(server, license_id, withdrawn_as)
    with pytest.raises(ActivationError):
        client.refresh()
    assert read_certificate_bytes() is None
    assert not license_status().allows("ai")
    with pytest.raises(CertificateError, match="withdrawn"):
        import_license(old_copy)
    assert read_certificate_bytes() is None and not license_status().allows("sync")

    # The vendor reinstates the license: a new activation works again.
    revoke(server, license_id, "active")
    client.activate(key)
    assert license_status().state == status.LICENSED


def test_a_refusal_that_is_not_signed_withdraws_nothing(server: RunningServer) -> None:
    _, key = server.mint()
    client = ActivationClient(server.url)
    client.activate(key)
    offline = ActivationClient("http://127.0.0.1:9", timeout=2)
    with pytest.raises(ActivationError) as info:
        offline.refresh(key)
    assert info.value.code == "NETWORK"
    assert license_status().state == status.LICENSED


def restored_after_deactivation(server: RunningServer) -> tuple[ActivationClient, str, bytes]:
    """Activate, copy license.txt, deactivate, put the copy back behind the app's back."""
    from licensing.client.license_files import write_certificate

    _, key = server.mint(seats=1)
    client = ActivationClient(server.url)
    client.activate(key)
    copy = read_certificate_bytes()
    assert copy is not None
    client.deactivate(key=key)
    write_certificate(copy.decode("ascii"))
    status.invalidate_status_cache()
    assert other_machine(server, key, "new laptop").status_code == 201  # the seat moved on
    return client, key, copy


def test_a_restored_copy_of_a_deactivated_seat_stops_at_the_horizon(
    server: RunningServer,
) -> None:
    """With no network at all, the copied file licenses nothing past the offline horizon."""
    _client, _key, copy = restored_after_deactivation(server)
    from licensing.client.certificate import parse_certificate
    from licensing.client.trusted_keys import trusted_keys

    cert = parse_certificate(copy, trusted_keys())
    horizon = cert.refresh_after + status.GRACE_S
    past = license_status(now=horizon + 1)
    assert past.state == status.REFRESH_NEEDED
    assert not past.allows("ai") and not past.allows("sync")


def test_a_restored_copy_of_a_deactivated_seat_is_withdrawn_by_the_next_check(
    server: RunningServer,
) -> None:
    from licensing.client import refresh_if_due

    client, _key, copy = restored_after_deactivation(server)
    assert license_status().allows("ai")  # until the next check...
    assert refresh_if_due(client, now=time.time() + 86400 + 60) is None  # (the key is gone)
    assert read_certificate_bytes() is None
    assert not license_status().allows("ai")
    assert "no longer activated" in license_status().reason
    with pytest.raises(CertificateError, match="withdrawn"):
        import_license(copy)


def test_a_signed_answer_cannot_be_replayed_for_another_call(server: RunningServer) -> None:
    from licensing.client.server_response import verify_response
    from licensing.client.trusted_keys import trusted_keys

    _, key = server.mint()
    ActivationClient(server.url).activate(key)
    reply = requests.post(
        f"{server.url}/v1/machines", json={"key": key, "nonce": "same"}, timeout=10
    )
    assert reply.status_code == 200
    common = {"http_status": 200, "nonce": "same", "now": time.time()}
    verify_response(
        reply.content, method="POST", path="/v1/machines", trusted_keys=trusted_keys(), **common
    )
    with pytest.raises(ActivationError, match="different call"):
        verify_response(
            reply.content,
            method="POST",
            path="/v1/validate",
            trusted_keys=trusted_keys(),
            **common,
        )


def test_clients_from_before_the_activation_field_get_certificates_they_can_read(
    server: RunningServer,
) -> None:
    """A protocol-1 client (no ``protocol`` field, ``v: 1`` offline requests) refuses unknown
    certificate fields, so the server leaves ``activation`` out for it."""
    import base64

    _, key = server.mint()
    reply = requests.post(
        f"{server.url}/v1/activate",
        json={
            "key": key,
            "fingerprint": fingerprint_of("old client"),
            "machine_name": "old client",
            "nonce": "n1",
        },
        timeout=10,
    )
    assert reply.status_code == 201
    envelope = json.loads(reply.content)
    data = json.loads(base64.b64decode(envelope["payload"]))["data"]
    cert_envelope = json.loads(base64.b64decode("".join(data["certificate"].splitlines()[1:-1])))
    fields = set(json.loads(base64.b64decode(cert_envelope["payload"])))
    assert "activation" not in fields
    assert fields == {
        "v", "license_id", "machine_id", "product", "edition", "entitlements",
        "purchased_at", "updates_until", "fingerprint", "issued", "refresh_after", "nonce",
    }  # fmt: skip
