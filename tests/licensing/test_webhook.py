"""Stripe's webhook for real: signed raw bodies, replays, retries, refunds, and the key
e-mailed through a local SMTP server."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from licensing.client import ActivationClient, ActivationError, license_status, status
from licensing.server.database import make_engine
from licensing.server.models import License
from licensing.server.signing import Signer
from licensing.server.stripe_webhook import sign
from tests.licensing.conftest import RunningServer, running_server, settings_for
from tests.licensing.server_processes import free_port

SECRET = "whsec_test_secret"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


@pytest.fixture()
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture()
def shop(tmp_path: Path, signer: Signer, smtp: tuple[Inbox, int]) -> Iterator[RunningServer]:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    settings = settings_for(url, smtp_port=smtp[1])
    with running_server(settings, signer, make_engine(url)) as running:
        yield running


def checkout_event(
    event_id: str = "evt_1", session_id: str = "cs_1", pi: str = "pi_1", paid: str = "paid"
) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "payment_status": paid,
                "payment_intent": pi,
                "created": 1_780_000_000,
                "customer_details": {"email": "writer@example.org", "name": "A. Writer"},
                "metadata": {"edition": "standard"},
            }
        },
    }


def refund_event(event_id: str = "evt_r1", pi: str = "pi_1", full: bool = True) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": "ch_1",
                "object": "charge",
                "payment_intent": pi,
                "refunded": full,
                "amount": 4900,
                "amount_refunded": 4900 if full else 1000,
            }
        },
    }


def post(
    server: RunningServer,
    event: dict[str, Any],
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    body: bytes | None = None,
    header: str | None = None,
) -> requests.Response:
    raw = body if body is not None else json.dumps(event).encode()
    signature = (
        header
        if header is not None
        else sign(
            secret,
            json.dumps(event).encode() if body is not None else raw,
            timestamp or int(time.time()),
        )
    )
    return requests.post(
        f"{server.url}/v1/webhooks/stripe",
        data=raw,
        timeout=10,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )


def licenses_in(server: RunningServer) -> list[License]:
    with server.sessions() as session:
        return list(session.execute(select(License)).scalars())


def key_in(message: str) -> str:
    for line in message.splitlines():
        stripped = line.strip()
        if stripped.count("-") == 4 and len(stripped) == 29:
            return stripped
    raise AssertionError("no key in the e-mail")


def test_purchase_mints_a_key_mails_it_and_it_activates(
    shop: RunningServer, smtp: tuple[Inbox, int], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    reply = post(shop, checkout_event())
    assert reply.status_code == 200, reply.text
    inbox = smtp[0]
    assert len(inbox.messages) == 1
    assert "To: writer@example.org" in inbox.messages[0]
    key = key_in(inbox.messages[0])
    activation = ActivationClient(shop.url).activate(key)
    assert activation.certificate.edition == "standard"
    assert license_status().state == status.LICENSED
    # The key is in nobody's logs and not stored in clear in the database.
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.")]
    assert ours and all(key not in line for line in ours)  # (mail.log is the test's SMTP server)
    assert key.encode() not in (tmp_path / "shop.db").read_bytes()


def test_retried_event_is_processed_once(shop: RunningServer, smtp: tuple[Inbox, int]) -> None:
    event = checkout_event()
    assert post(shop, event).json()["outcome"].startswith("minted")
    assert post(shop, event).json()["outcome"] == "duplicate"
    other_id = checkout_event(event_id="evt_2")  # same order, a new event id
    assert post(shop, other_id).json()["outcome"] == "already minted"
    assert len(licenses_in(shop)) == 1
    assert len(smtp[0].messages) == 1


@pytest.mark.parametrize(
    "case",
    ["wrong-secret", "no-header", "garbled-header", "tampered-body", "stale", "from-the-future"],
)
def test_bad_and_replayed_webhooks_are_rejected(
    shop: RunningServer, smtp: tuple[Inbox, int], case: str
) -> None:
    event = checkout_event()
    if case == "wrong-secret":
        reply = post(shop, event, secret="whsec_other")
    elif case == "no-header":
        reply = post(shop, event, header="")
    elif case == "garbled-header":
        reply = post(shop, event, header="t=abc,v1=zz")
    elif case == "tampered-body":
        tampered = json.dumps(checkout_event(session_id="cs_evil")).encode()
        reply = post(shop, event, body=tampered)
    elif case == "stale":
        reply = post(shop, event, timestamp=int(time.time()) - 3600)
    else:
        reply = post(shop, event, timestamp=int(time.time()) + 3600)
    assert reply.status_code == 400
    assert licenses_in(shop) == []
    assert smtp[0].messages == []


def test_unpaid_checkout_mints_nothing(shop: RunningServer) -> None:
    assert post(shop, checkout_event(paid="unpaid")).json()["outcome"] == "not paid yet"
    assert licenses_in(shop) == []


def test_refund_suspends_the_license(shop: RunningServer, smtp: tuple[Inbox, int]) -> None:
    post(shop, checkout_event())
    key = key_in(smtp[0].messages[0])
    client = ActivationClient(shop.url)
    client.activate(key)
    partial = post(shop, refund_event(event_id="evt_partial", full=False)).json()
    assert partial["outcome"].startswith("partial refund")
    assert post(shop, refund_event()).json()["outcome"].startswith("refunded")
    with pytest.raises(ActivationError) as info:
        client.refresh()
    assert info.value.code == "REFUNDED"
    assert not license_status().certificate


def test_refund_arriving_before_the_purchase(shop: RunningServer, smtp: tuple[Inbox, int]) -> None:
    assert "before its purchase" in post(shop, refund_event()).json()["outcome"]
    assert "as refunded" in post(shop, checkout_event()).json()["outcome"]
    [license] = licenses_in(shop)
    assert license.status == "refunded"
    assert smtp[0].messages == []


def test_mail_failure_records_nothing_so_the_retry_succeeds(
    tmp_path: Path, signer: Signer, smtp: tuple[Inbox, int]
) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    broken = settings_for(url, smtp_port=free_port())  # nothing listens there
    with running_server(broken, signer, make_engine(url)) as server:
        assert post(server, checkout_event()).status_code == 503
        assert licenses_in(server) == []
    with running_server(settings_for(url, smtp_port=smtp[1]), signer, make_engine(url)) as fixed:
        assert post(fixed, checkout_event()).status_code == 200
        with fixed.sessions() as session:
            assert session.execute(select(func.count()).select_from(License)).scalar_one() == 1
    assert len(smtp[0].messages) == 1


# -- odd contents in genuine (signed) events never answer 500 ----------------------------
def odd(change: Any) -> dict[str, Any]:
    event = checkout_event(event_id="evt_odd", session_id="cs_odd", pi="pi_odd")
    change(event["data"]["object"])
    return event


ODD_CHECKOUTS = {
    "created 1e20": lambda o: o.update(created=10**20),
    "created -1e15": lambda o: o.update(created=-(10**15)),
    "created float": lambda o: o.update(created=1e20),
    "e-mail with CR/LF": lambda o: o["customer_details"].update(
        email="a@example.org\r\nBcc: everyone@example.org"
    ),
    "e-mail over 320": lambda o: o["customer_details"].update(email="a" * 320 + "@example.org"),
    "no e-mail": lambda o: o.update(customer_details=None),
    "edition over 40": lambda o: o.update(metadata={"edition": "e" * 41}),
    "edition with a space": lambda o: o.update(metadata={"edition": "Pro Edition"}),
    "edition a number": lambda o: o.update(metadata={"edition": 7}),
    "order id over 200": lambda o: o.update(id="cs_" + "x" * 200),
    "payment id over 200": lambda o: o.update(payment_intent="pi_" + "x" * 200),
}


def assert_odd_events_are_handled(server: RunningServer, inbox: Inbox) -> None:
    for name, change in ODD_CHECKOUTS.items():
        reply = post(server, odd(change) | {"id": f"evt_{abs(hash(name))}"})
        assert reply.status_code == 200, (name, reply.status_code, reply.text)
        assert reply.json()["outcome"].startswith("unusable"), name
    assert licenses_in(server) == [] and inbox.messages == []
    refund = refund_event(event_id="evt_long_refund", pi="pi_" + "x" * 300)
    assert post(server, refund).status_code == 200
    for bad_event in ({"id": "e" * 300, "type": "x", "data": {"object": {}}}, {"id": 5}):
        assert post(server, bad_event).status_code == 400
    # A good event still works afterwards.
    assert post(server, checkout_event()).json()["outcome"].startswith("minted")


def test_odd_webhook_contents_never_answer_500_on_sqlite(
    shop: RunningServer, smtp: tuple[Inbox, int]
) -> None:
    assert_odd_events_are_handled(shop, smtp[0])


def test_odd_webhook_contents_never_answer_500_on_postgresql(
    pg_engine: Any, signer: Signer, smtp: tuple[Inbox, int], postgres_url: str
) -> None:
    settings = settings_for(postgres_url, smtp_port=smtp[1])
    with running_server(settings, signer, pg_engine) as running:
        assert_odd_events_are_handled(running, smtp[0])
