"""License operations shared by the API, the payment webhook and the vendor's command line."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licensing.client.certificate import KNOWN_ENTITLEMENTS
from licensing.client.errors import LicenseKeyError
from licensing.client.license_key import generate_key, normalize_key
from licensing.protocol import FORMAT_VERSION, PRODUCT, ActivationMode, ErrorCode, edition_problem
from licensing.server.models import (
    ACTIVE,
    REFUNDED,
    REVOKED,
    SUSPENDED,
    License,
    Machine,
    utcnow,
)

log = logging.getLogger(__name__)


class LicenseProblem(Exception):
    """A refusal with a stable code, an HTTP status and a message for the buyer."""

    def __init__(
        self,
        code: str,
        status: int,
        message: str,
        machines: list[dict[str, Any]] | None = None,
        *,
        license_id: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.machines = machines
        # Named in the signed answer, so the client knows exactly which license was withdrawn.
        self.license_id = license_id
        self.retry_after = retry_after


def key_hash(key: str) -> str:
    return hashlib.sha256(normalize_key(key).encode("ascii")).hexdigest()


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def mint(
    session: Session,
    *,
    edition: str,
    entitlements: list[str] | tuple[str, ...],
    max_machines: int,
    purchased_at: dt.date,
    updates_until: dt.date,
    email: str | None = None,
    order_ref: str | None = None,
    payment_ref: str | None = None,
    status: str = ACTIVE,
) -> tuple[License, str]:
    """A new license and its key (the only time the key exists in clear on the server).

    Raises ``ValueError`` for an edition the app could not read (one rule: ``protocol``).
    """
    problem = edition_problem(edition)
    if problem is not None:
        raise ValueError(problem[0].upper() + problem[1:] + ".")
    if not entitlements or any(e not in KNOWN_ENTITLEMENTS for e in entitlements):
        raise ValueError(f"Entitlements must be some of {sorted(KNOWN_ENTITLEMENTS)}.")
    if not 1 <= max_machines <= 10_000:
        raise ValueError("A license needs between 1 and 10000 machines.")
    key = generate_key()
    license = License(
        id=new_id("lic"),
        key_hash=key_hash(key),
        edition=edition,
        entitlements=",".join(sorted(set(entitlements))),
        max_machines=max_machines,
        status=status,
        purchased_at=purchased_at,
        updates_until=updates_until,
        email=email,
        order_ref=order_ref,
        payment_ref=payment_ref,
    )
    session.add(license)
    session.flush()
    log.info("minted license %s (%s, %d seats)", license.id, edition, max_machines)
    return license, key


def find_license(session: Session, key: str, *, for_update: bool = False) -> License:
    try:
        digest = key_hash(key)
    except LicenseKeyError as error:
        raise LicenseProblem(ErrorCode.BAD_REQUEST, 400, str(error)) from None
    query = select(License).where(License.key_hash == digest)
    if for_update:
        query = query.with_for_update()
    license = session.execute(query).scalar_one_or_none()
    if license is None:
        raise LicenseProblem(
            ErrorCode.NOT_FOUND,
            404,
            "No license has this key. Please check it against your purchase e-mail.",
        )
    return license


_WITHDRAWN_MESSAGES: dict[str, tuple[ErrorCode, str]] = {
    SUSPENDED: (ErrorCode.SUSPENDED, "This license is suspended. Please contact support."),
    REFUNDED: (ErrorCode.REFUNDED, "This license was refunded and no longer works."),
    REVOKED: (ErrorCode.REVOKED, "This license was revoked. Please contact support."),
}


def require_usable(license: License) -> None:
    withdrawn = _WITHDRAWN_MESSAGES.get(license.status)
    if withdrawn is not None:
        code, message = withdrawn
        raise LicenseProblem(code, 403, message, license_id=license.id)


def _iso(value: dt.datetime) -> str:
    return value.replace(microsecond=0).isoformat() + "Z"


def machine_json(machine: Machine) -> dict[str, Any]:
    return {
        "id": machine.id,
        "name": machine.name,
        "activated_at": _iso(machine.activated_at),
        "last_seen": _iso(machine.last_seen),
    }


def machines_of(session: Session, license: License) -> list[Machine]:
    return list(
        session.execute(
            select(Machine)
            .where(Machine.license_id == license.id)
            .order_by(Machine.activated_at, Machine.id)
        ).scalars()
    )


def license_json(license: License) -> dict[str, Any]:
    return {
        "id": license.id,
        "edition": license.edition,
        "entitlements": license.entitlement_list(),
        "max_machines": license.max_machines,
        "purchased_at": license.purchased_at.isoformat(),
        "updates_until": license.updates_until.isoformat(),
        "status": license.status,
    }


def activate(
    session: Session, key: str, fingerprint: str, name: str
) -> tuple[License, Machine, bool]:
    """Take a seat for this machine (or return its existing one). Caller commits.

    The license row is locked first (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE
    already holds the write lock), so parallel activations count seats one at a time.
    """
    license = find_license(session, key, for_update=True)
    require_usable(license)
    machines = machines_of(session, license)
    for machine in machines:
        if machine.fingerprint == fingerprint:
            machine.last_seen = utcnow()
            machine.name = name
            return license, machine, False
    if len(machines) >= license.max_machines:
        raise LicenseProblem(
            ErrorCode.TOO_MANY_MACHINES,
            409,
            f"This license is already activated on {len(machines)} of "
            f"{license.max_machines} machines. Deactivate one to free a seat.",
            machines=[machine_json(m) for m in machines],
        )
    machine = Machine(id=new_id("m"), license_id=license.id, fingerprint=fingerprint, name=name)
    session.add(machine)
    session.flush()
    log.info("activated license %s on machine %s", license.id, machine.id)
    return license, machine, True


def validate(session: Session, key: str, fingerprint: str) -> tuple[License, Machine]:
    license = find_license(session, key)
    require_usable(license)
    for machine in machines_of(session, license):
        if machine.fingerprint == fingerprint:
            machine.last_seen = utcnow()
            return license, machine
    raise LicenseProblem(
        ErrorCode.MACHINE_NOT_ACTIVATED,
        404,
        "This computer is no longer activated for this license. Activate it again.",
        license_id=license.id,
    )


def validate_seat(
    session: Session, license_id: str, machine_id: str, fingerprint: str
) -> tuple[License, Machine]:
    """Validate by a certificate's ids (the background refresh needs no stored key)."""
    license = session.get(License, license_id)
    if license is None:
        raise LicenseProblem(
            ErrorCode.NOT_FOUND, 404, "This license no longer exists.", license_id=license_id
        )
    require_usable(license)
    machine = session.get(Machine, machine_id)
    if machine is None or machine.license_id != license.id or machine.fingerprint != fingerprint:
        raise LicenseProblem(
            ErrorCode.MACHINE_NOT_ACTIVATED,
            404,
            "This computer is no longer activated for this license. Activate it again.",
            license_id=license.id,
        )
    machine.last_seen = utcnow()
    return license, machine


def deactivate(session: Session, key: str, machine_id: str) -> License:
    """Free one seat. Only a machine of *this* license can be removed."""
    license = find_license(session, key, for_update=True)
    machine = session.execute(
        select(Machine).where(Machine.id == machine_id, Machine.license_id == license.id)
    ).scalar_one_or_none()
    if machine is None:
        raise LicenseProblem(ErrorCode.NOT_FOUND, 404, "This license has no machine with that id.")
    session.delete(machine)
    session.flush()
    log.info("deactivated machine %s of license %s", machine_id, license.id)
    return license


def certificate_payload(
    license: License,
    machine: Machine,
    *,
    nonce: str,
    now: int,
    refresh_days: int,
    activation: ActivationMode | None,
) -> dict[str, Any]:
    """The certificate's fields; ``activation`` None for clients that predate the field."""
    payload: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "license_id": license.id,
        "machine_id": machine.id,
        "product": PRODUCT,
        "edition": license.edition,
        "entitlements": license.entitlement_list(),
        "purchased_at": license.purchased_at.isoformat(),
        "updates_until": license.updates_until.isoformat(),
        "fingerprint": machine.fingerprint,
        "issued": now,
        "refresh_after": now + refresh_days * 86400,
        "nonce": nonce,
    }
    if activation is not None:
        payload["activation"] = activation.value
    return payload


def set_status(session: Session, license_id: str, status: str) -> License:
    license = session.get(License, license_id)
    if license is None:
        raise LicenseProblem(ErrorCode.NOT_FOUND, 404, f"No license with id {license_id}.")
    license.status = status
    log.info("license %s is now %s", license.id, status)
    return license


def count_machines(session: Session, license: License) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(Machine).where(Machine.license_id == license.id)
        ).scalar_one()
    )
