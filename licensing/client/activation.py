"""Activation: online through the license server, or offline with request/response files.

Online, every answer is signed and echoes our nonce (``server_response``); the certificate
it carries is verified exactly as the app verifies it at start-up before it is saved.
Offline, ``offline_request`` writes a text block the buyer takes to the activation page on
any device, and ``import_license`` checks and saves the file they bring back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from licensing.client.certificate import (
    Certificate,
    armor,
    check_certificate,
    parse_certificate,
)
from licensing.client.errors import ActivationError, CertificateError, KeyringUnavailable
from licensing.client.fingerprint import machine_fingerprint, machine_name
from licensing.client.keyring_store import KeyringStore
from licensing.client.license_files import (
    delete_certificate,
    read_certificate_bytes,
    update_state,
    write_certificate,
)
from licensing.client.license_key import normalize_key
from licensing.client.machines import Machine, machines_from_json
from licensing.client.server_response import MAX_RESPONSE_BYTES, verify_response
from licensing.client.status import invalidate_status_cache, trust_server_time

if TYPE_CHECKING:  # requests loads in ~0.1 s: only when the app talks to the server
    import requests
from licensing.client.trial import (
    TrialCertificate,
    parse_trial_certificate,
    read_trial_certificate,
    write_trial_certificate,
)
from licensing.client.trusted_keys import trusted_keys
from licensing.client.withdrawals import clear as clear_withdrawal
from licensing.client.withdrawals import record as record_withdrawal
from licensing.client.withdrawals import withdrawal_of
from licensing.protocol import (
    LICENSE_WITHDRAWN,
    PRODUCT,
    PROTOCOL_VERSION,
    REQUEST_LABEL,
    SEAT_WITHDRAWN,
    ActivationMode,
)

log = logging.getLogger(__name__)

DEFAULT_SERVER_URL = "https://licenses.draftsmith.app"
SERVER_URL_ENV = "DRAFTSMITH_LICENSE_SERVER"
# The background check asks the server at most this often (start-up, then daily).
CHECK_EVERY_S = 86400


@dataclass(frozen=True)
class Activation:
    certificate: Certificate
    machines: list[Machine]
    key_remembered: bool
    note: str | None = None


def server_url() -> str:
    """The activation server (a signed-answer protocol: pointing this elsewhere gains nothing)."""
    return os.environ.get(SERVER_URL_ENV, DEFAULT_SERVER_URL).rstrip("/")


def _save(cert_text: object, *, fingerprint: str, now: float, nonce: str | None) -> Certificate:
    if not isinstance(cert_text, str):
        raise ActivationError("The license server sent no license file.", "BAD_RESPONSE")
    try:
        cert = parse_certificate(cert_text, trusted_keys())
        check_certificate(cert, fingerprint=fingerprint, now=now)
    except CertificateError as error:
        raise ActivationError(
            f"The license server sent a license this app cannot use: {error}", "BAD_RESPONSE"
        ) from None
    if nonce is not None and cert.nonce != nonce:
        raise ActivationError(
            "The license server sent a license made for another request.", "BAD_RESPONSE"
        )
    write_certificate(cert.armored)
    update_state(verdict=None)
    clear_withdrawal(cert.license_id)
    invalidate_status_cache()
    return cert


def _saved(data: dict[str, Any], fingerprint: str) -> Certificate:
    """Save the certificate of a verified answer, and take the server's clock as last seen."""
    cert = _save(
        data.get("certificate"), fingerprint=fingerprint, now=time.time(), nonce=data["_nonce"]
    )
    trust_server_time(data["_issued"])
    return cert


def _remember_key(store: KeyringStore, key: str) -> tuple[bool, str | None]:
    try:
        store.store_license_key(key)
    except KeyringUnavailable as error:
        return False, f"{error} You will need your key again to manage machines."
    return True, None


class ActivationClient:
    """Talks to the license server with ``requests``; every answer is verified."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        session: requests.Session | None = None,
        timeout: float = 15.0,
        store: KeyringStore | None = None,
    ) -> None:
        import requests  # not at start-up: the editor imports this module to check the license

        self.base_url = (base_url or server_url()).rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout
        self.store = store or KeyringStore()

    # -- plumbing -------------------------------------------------------------------
    def _post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        import requests  # loaded by __init__ already

        nonce = secrets.token_urlsafe(18)
        body = {**body, "nonce": nonce}
        try:
            with self.session.post(
                f"{self.base_url}{path}", json=body, timeout=self.timeout, stream=True
            ) as response:
                chunks: list[bytes] = []
                received = 0
                for chunk in response.iter_content(16 * 1024):
                    chunks.append(chunk)
                    received += len(chunk)
                    if received > MAX_RESPONSE_BYTES:
                        break  # verify_response refuses it as too large
                content = b"".join(chunks)
        except requests.RequestException as error:
            log.info("license server unreachable: %s", type(error).__name__)
            raise ActivationError(
                "Could not reach the license server. Check the internet connection, "
                "or use offline activation.",
                "NETWORK",
            ) from None
        data = verify_response(
            content,
            http_status=response.status_code,
            nonce=nonce,
            method="POST",
            path=path,
            now=time.time(),
            trusted_keys=trusted_keys(),
        )
        data["_nonce"] = nonce
        return response.status_code, data

    def _key(self, key: str | None) -> str:
        if key is not None:
            return normalize_key(key)
        try:
            stored = self.store.license_key()
        except KeyringUnavailable as error:
            raise ActivationError(f"{error} Please enter your license key.", "NEED_KEY") from None
        if stored is None:
            raise ActivationError("Please enter your license key.", "NEED_KEY")
        return stored

    @staticmethod
    def _this_certificate() -> Certificate | None:
        data = read_certificate_bytes()
        if data is None:
            return None
        try:
            return parse_certificate(data, trusted_keys())
        except CertificateError:
            return None

    @classmethod
    def _this_machine_id(cls) -> str | None:
        cert = cls._this_certificate()
        return cert.machine_id if cert is not None else None

    def _withdrawn(self, error: ActivationError) -> None:
        """The server (in a signed answer) no longer vouches for this certificate: drop it,
        and remember the withdrawal so an old copy of the file is refused too."""
        if error.server_time is None:
            return  # not a verified refusal (no answer, or one we could not trust)
        license_wide = error.code in LICENSE_WITHDRAWN
        if not license_wide and error.code not in SEAT_WITHDRAWN:
            return
        cert = self._this_certificate()
        if cert is not None:
            record_withdrawal(
                license_id=(error.license_id or cert.license_id) if license_wide else None,
                machine_id=cert.machine_id,
                at=error.server_time,
                reason=f"{error} AI features and sync are off on this computer.",
                store=self.store,
            )
        delete_certificate()
        update_state(verdict=str(error))
        invalidate_status_cache()

    # -- the buyer's actions ------------------------------------------------------
    def activate(self, key: str) -> Activation:
        """Activate this machine (re-activating it returns its existing seat)."""
        key = normalize_key(key)
        fingerprint = machine_fingerprint()
        _, data = self._post(
            "/v1/activate",
            {
                "key": key,
                "fingerprint": fingerprint,
                "machine_name": machine_name(),
                "protocol": PROTOCOL_VERSION,
            },
        )
        cert = _saved(data, fingerprint)
        remembered, note = _remember_key(self.store, key)
        machines = machines_from_json(data.get("machines", []), cert.machine_id)
        log.info("activated license %s on machine %s", cert.license_id, cert.machine_id)
        return Activation(cert, machines, remembered, note)

    def refresh(self, key: str | None = None) -> Certificate:
        """Validate with the server and save a fresh certificate.

        With no ``key``, the current certificate is sent (so a missing keyring doesn't stop
        the background check); with a key, or without a certificate, the key is.
        When the server says the license was refunded, suspended or revoked, the certificate
        is removed and the reason kept for the status line.
        """
        fingerprint = machine_fingerprint()
        current = self._this_certificate() if key is None else None
        body: dict[str, Any]
        if current is not None:  # the certificate vouches for itself: no key needed
            path, body = "/v1/refresh", {"certificate": current.armored}
        else:
            path, body = "/v1/validate", {"key": self._key(key), "protocol": PROTOCOL_VERSION}
        try:
            _, data = self._post(path, {**body, "fingerprint": fingerprint})
        except ActivationError as error:
            self._withdrawn(error)
            raise
        return _saved(data, fingerprint)

    def start_trial(self) -> TrialCertificate:
        """Ask the server for this machine's signed trial certificate, and save it.

        The server keeps one trial per machine: asking again returns the first start.
        """
        fingerprint = machine_fingerprint()
        _, data = self._post("/v1/trial", {"fingerprint": fingerprint})
        text = data.get("trial")
        if not isinstance(text, str):
            raise ActivationError("The license server sent no trial.", "BAD_RESPONSE")
        try:
            trial = parse_trial_certificate(text, trusted_keys())
        except CertificateError as error:
            raise ActivationError(
                f"The license server sent a trial this app cannot use: {error}", "BAD_RESPONSE"
            ) from None
        if trial.fingerprint != fingerprint or trial.nonce != data["_nonce"]:
            raise ActivationError(
                "The license server sent a trial made for another request.", "BAD_RESPONSE"
            )
        write_trial_certificate(trial)
        invalidate_status_cache()
        log.info("trial certificate saved (started %s)", trial.started)
        return trial

    def machines(self, key: str | None = None) -> list[Machine]:
        """This license's machines: by ``key``, the stored key, or this machine's certificate."""
        body: dict[str, Any]
        current = self._this_certificate() if key is None else None
        try:
            body = {"key": self._key(key)}
        except ActivationError:
            if current is None:
                raise
            body = {"certificate": current.armored, "fingerprint": machine_fingerprint()}
        _, data = self._post("/v1/machines", body)
        return machines_from_json(data.get("machines"), self._this_machine_id())

    def deactivate(self, machine_id: str | None = None, key: str | None = None) -> list[Machine]:
        """Free a seat. ``None`` means this machine: its certificate and stored key go too."""
        key = self._key(key)
        this_id = self._this_machine_id()
        target = machine_id or this_id
        if target is None:
            raise ActivationError("This computer is not activated.", "BAD_REQUEST")
        _, data = self._post("/v1/deactivate", {"key": key, "machine_id": target})
        if target == this_id:
            delete_certificate()
            with contextlib.suppress(KeyringUnavailable):
                self.store.forget_license_key()
            invalidate_status_cache()
        return machines_from_json(data.get("machines"), this_id)


# -- offline activation ------------------------------------------------------------------
def offline_request(key: str, *, store: KeyringStore | None = None) -> str:
    """The activation request (a text block, also fine as a file) for the activation page."""
    key = normalize_key(key)
    nonce = secrets.token_urlsafe(18)
    request = {
        "v": PROTOCOL_VERSION,
        "product": PRODUCT,
        "key": key,
        "fingerprint": machine_fingerprint(),
        "machine_name": machine_name(),
        "nonce": nonce,
        "created": int(time.time()),
    }
    _remember_key(store or KeyringStore(), key)
    update_state(pending_offline_nonce=nonce)
    encoded = json.dumps(request, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return armor(encoded, REQUEST_LABEL)


def import_license(data: bytes | str) -> Certificate:
    """Check a license file brought back from the activation page, then save it.

    A copy of a certificate the server has since withdrawn (refunded, revoked, or this seat
    deactivated) is refused.
    """
    cert = parse_certificate(data, trusted_keys())
    check_certificate(cert, fingerprint=machine_fingerprint(), now=time.time())
    withdrawn = withdrawal_of(cert)
    if withdrawn is not None:
        when = time.strftime("%Y-%m-%d", time.localtime(withdrawn.at))
        raise CertificateError(
            f"This license file was withdrawn by the license server on {when}, so it "
            "can't be used again. If your license was reinstated, activate it again online "
            "or get a new file from the offline activation page."
        )
    write_certificate(cert.armored)
    update_state(verdict=None, pending_offline_nonce=None)
    invalidate_status_cache()
    log.info("imported license %s for machine %s", cert.license_id, cert.machine_id)
    return cert


def refresh_due(cert: Certificate, now: float) -> bool:
    """Should the background check ask the server about ``cert`` now?

    Online-activated certificates (and older ones that don't say how they were obtained)
    are checked once a day, so a refund or revocation reaches the machine the next day it
    is online. An offline (air-gapped) activation is never checked in the background.
    """
    if cert.activation is ActivationMode.OFFLINE:
        return False
    return now >= cert.refresh_after or now - cert.issued >= CHECK_EVERY_S


def refresh_if_due(
    client: ActivationClient | None = None, *, now: float | None = None
) -> Certificate | None:
    """The background check: renew the certificate when due (see ``refresh_due``).

    Returns the new certificate, or None when nothing was due or the server could not be
    reached (the app keeps working offline; it tries again later). When the server says the
    license was refunded, suspended or revoked, the certificate is withdrawn. Never raises
    ``ActivationError``.
    """
    from licensing.client.status import license_status

    current = license_status()
    now = time.time() if now is None else now
    if current.certificate is None:
        # No license: make sure the trial is the server's (one per machine), once.
        if read_trial_certificate(machine_fingerprint(), trusted_keys()) is None:
            try:
                (client or ActivationClient()).start_trial()
            except ActivationError as error:
                log.info("trial check skipped: %s", error.code)
        return None
    if not refresh_due(current.certificate, now):
        return None
    client = client or ActivationClient()
    try:
        return client.refresh()
    except ActivationError as error:
        log.info("license refresh skipped: %s", error.code)
        return None
