"""Stripe's payment webhook: ``checkout.session.completed`` mints and e-mails a key;
``charge.refunded`` suspends the license as refunded.

The ``Stripe-Signature`` header (``t=<unix time>,v1=<hex HMAC-SHA256>``) is checked over the
raw request body exactly as Stripe documents it: HMAC of ``"<t>." + body`` with the endpoint
secret, constant-time comparison, timestamps older than the tolerance refused (replays).
Every event id is recorded, so Stripe's retries are harmless; a refund that arrives before
its purchase is remembered and applied when the purchase shows up.

Every field is checked before anything is written (one rule for each, the same on SQLite
and PostgreSQL). A request that is not a genuine Stripe event answers 400. A genuine event
whose contents can't be used (an edition the app can't read, an e-mail with a line break,
a date out of range) answers 200 and is logged as an error for the vendor, because
Stripe retries anything else for days and a retry can't fix it. Nothing answers 500.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from licensing.protocol import edition_problem
from licensing.server import licenses, mailer
from licensing.server.models import ACTIVE, REFUNDED, EarlyRefund, License, ProcessedEvent
from licensing.server.settings import Settings

log = logging.getLogger(__name__)


class WebhookRejected(Exception):
    """The request is not a genuine, fresh Stripe event (HTTP 400)."""


class UnusableEvent(Exception):
    """A genuine event whose contents can't be used (HTTP 200, logged for the vendor)."""


# Column sizes in ``models`` (PostgreSQL enforces them; SQLite would not).
MAX_EVENT_ID = 200
MAX_EVENT_TYPE = 100
MAX_REF = 200
MAX_EMAIL = 320
MAX_CREATED = 4_102_444_800  # 2100-01-01: far beyond any real purchase; dates stay in range
_EMAIL = re.compile(r"[^\s@<>,;:\"()\[\]\\]+@[^\s@<>,;:\"()\[\]\\]+")


def _ref(value: object, what: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_REF or not value.isprintable():
        raise UnusableEvent(f"{what} is missing or malformed")
    return value


def _optional_ref(value: object, what: str) -> str | None:
    return None if value is None else _ref(value, what)


def _email(value: object) -> str:
    if (
        not isinstance(value, str)
        or len(value) > MAX_EMAIL
        or not value.isprintable()
        or not _EMAIL.fullmatch(value)
    ):
        raise UnusableEvent("the customer e-mail is missing or malformed")
    return value


def _purchase_date(value: object) -> dt.date:
    if value is None:
        return dt.datetime.now(dt.UTC).date()
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < MAX_CREATED:
        raise UnusableEvent("the checkout's creation time is out of range")
    return dt.datetime.fromtimestamp(value, dt.UTC).date()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value Stripe would send (tests and local replays use it)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: str, body: bytes, header: str | None, *, tolerance_s: int, now: float | None = None
) -> None:
    if not secret:
        raise WebhookRejected("webhook secret not configured")
    if not header:
        raise WebhookRejected("missing Stripe-Signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise WebhookRejected("malformed timestamp") from None
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise WebhookRejected("malformed Stripe-Signature header")
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise WebhookRejected("signature does not match")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        raise WebhookRejected("timestamp outside the tolerance (stale or replayed event)")


def _parse(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except ValueError:
        raise WebhookRejected("body is not JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise WebhookRejected("not a Stripe event")
    if not 0 < len(event["id"]) <= MAX_EVENT_ID or not event["id"].isprintable():
        raise WebhookRejected("malformed event id")
    if not isinstance(event.get("type"), str) or not 0 < len(event["type"]) <= MAX_EVENT_TYPE:
        raise WebhookRejected("event without a usable type")
    obj = event.get("data", {}).get("object") if isinstance(event.get("data"), dict) else None
    if not isinstance(obj, dict):
        raise WebhookRejected("event without data.object")
    return event


def handle(
    body: bytes,
    signature_header: str | None,
    *,
    settings: Settings,
    sessions: sessionmaker[Session],
    now: float | None = None,
) -> str:
    """Process one webhook delivery; returns what happened (for the log and the reply)."""
    verify_signature(
        settings.stripe_webhook_secret,
        body,
        signature_header,
        tolerance_s=settings.webhook_tolerance_s,
        now=now,
    )
    event = _parse(body)
    event_id, kind = event["id"], event["type"]
    obj = event["data"]["object"]
    try:
        with sessions() as session, session.begin():
            if session.get(ProcessedEvent, event_id) is not None:
                log.info("webhook event %s already processed", event_id)
                return "duplicate"
            try:
                if kind == "checkout.session.completed":
                    outcome = _checkout_completed(session, obj, settings)
                elif kind == "charge.refunded":
                    outcome = _charge_refunded(session, obj)
                else:
                    outcome = "ignored"
            except UnusableEvent as error:
                # Nothing of it was written (every check runs before the first write).
                log.error("webhook event %s (%s) needs attention: %s", event_id, kind, error)
                outcome = f"unusable: {error}"
            session.add(ProcessedEvent(event_id=event_id, type=kind))
    except IntegrityError:  # the same event (or order) delivered twice at once
        log.info("webhook event %s raced with its own retry", event_id)
        return "duplicate"
    log.info("webhook event %s (%s): %s", event_id, kind, outcome)
    return outcome


def _checkout_completed(session: Session, obj: dict[str, Any], settings: Settings) -> str:
    order_ref = _ref(obj.get("id"), "the checkout session id")
    if obj.get("payment_status") != "paid":
        return "not paid yet"
    payment_ref = _optional_ref(obj.get("payment_intent"), "the payment id")
    details = obj.get("customer_details")
    email = _email(
        (details.get("email") if isinstance(details, dict) else None) or obj.get("customer_email")
    )
    metadata = obj.get("metadata")
    edition = (metadata.get("edition") if isinstance(metadata, dict) else None) or (
        settings.default_edition
    )
    problem = edition_problem(edition)
    if problem is not None:
        raise UnusableEvent(problem)
    purchased = _purchase_date(obj.get("created"))
    existing = session.execute(
        select(License).where(License.order_ref == order_ref)
    ).scalar_one_or_none()
    if existing is not None:
        return "already minted"
    refunded_early = payment_ref is not None and session.get(EarlyRefund, payment_ref) is not None
    license, key = licenses.mint(
        session,
        edition=edition,
        entitlements=settings.default_entitlements,
        max_machines=settings.default_max_machines,
        purchased_at=purchased,
        updates_until=purchased + dt.timedelta(days=settings.updates_days),
        email=email,
        order_ref=order_ref,
        payment_ref=payment_ref,
        status=REFUNDED if refunded_early else ACTIVE,
    )
    if refunded_early:
        return f"minted {license.id} as refunded (refund arrived first); no e-mail"
    # Send inside the transaction: if the mail fails, nothing is recorded and Stripe retries.
    mailer.send(
        settings,
        mailer.key_email(settings, email, key, edition, license.updates_until.isoformat()),
    )
    return f"minted {license.id}"


def _charge_refunded(session: Session, obj: dict[str, Any]) -> str:
    payment_ref = _ref(obj.get("payment_intent"), "the refund's payment id")
    if obj.get("refunded") is not True:  # Stripe sets it only when fully refunded
        return "partial refund; license unchanged"
    found = list(
        session.execute(select(License).where(License.payment_ref == payment_ref)).scalars()
    )
    if not found:
        if session.get(EarlyRefund, payment_ref) is None:
            session.add(EarlyRefund(payment_ref=payment_ref))
        return "refund recorded before its purchase"
    for license in found:
        license.status = REFUNDED
    return "refunded " + ", ".join(lic.id for lic in found)
