"""The trial: a server-signed trial certificate when the server is reachable, a hardened
local record when it is not.

Online, ``ActivationClient.start_trial`` asks the license server once; the server records
one trial per machine fingerprint and signs its start (document type ``trial``, the same
Ed25519 envelope as licenses). Reinstalling, deleting the app's files or emptying the
keyring then gets the *same* start back at the next check.

Offline, the start is kept in three places (the state file, the keyring and a small file
in the config folder); the earliest sane value counts. A start in the future, or a trial
record without any "last seen" time, is treated as tampering (the trial is over), not as a
fresh start. What this can't stop: someone offline who removes every record (or uses a new
virtual machine) gets a new local trial, until the app next reaches the server.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from licensing.client.atomic_file import write_atomically
from licensing.client.certificate import armor, dearmor
from licensing.client.errors import CertificateError
from licensing.client.paths import trial_certificate_path, trial_record_path
from licensing.client.signed_document import open_envelope
from licensing.protocol import FINGERPRINT, FORMAT_VERSION, PRODUCT, TOKEN, TRIAL_DOCUMENT

log = logging.getLogger(__name__)

LABEL = "DRAFTSMITH TRIAL"
MAX_TIME = 2**40
_FIELDS = {"v", "product", "fingerprint", "started", "issued", "nonce"}


@dataclass(frozen=True)
class TrialCertificate:
    fingerprint: str
    started: int
    issued: int
    nonce: str
    armored: str


def parse_trial_certificate(
    data: bytes | str, trusted_keys: Mapping[str, Ed25519PublicKey]
) -> TrialCertificate:
    """Strictly verify a trial certificate (raises ``CertificateError``)."""
    payload = open_envelope(dearmor(data, LABEL), TRIAL_DOCUMENT, trusted_keys)
    if set(payload) != _FIELDS:
        raise CertificateError("The trial certificate has the wrong fields.")
    for name in ("v", "started", "issued"):
        value = payload[name]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < MAX_TIME:
            raise CertificateError(f"The trial certificate's {name} is malformed.")
    if payload["v"] != FORMAT_VERSION or payload["product"] != PRODUCT:
        raise CertificateError("The trial certificate is for another product or version.")
    fingerprint, nonce = payload["fingerprint"], payload["nonce"]
    if not isinstance(fingerprint, str) or not FINGERPRINT.fullmatch(fingerprint):
        raise CertificateError("The trial certificate's fingerprint is malformed.")
    if not isinstance(nonce, str) or not TOKEN.fullmatch(nonce):
        raise CertificateError("The trial certificate's nonce is malformed.")
    if payload["started"] > payload["issued"]:
        raise CertificateError("The trial certificate starts after it was issued.")
    text = data if isinstance(data, str) else data.decode("ascii")
    return TrialCertificate(fingerprint, payload["started"], payload["issued"], nonce, text)


def trial_armor(envelope: bytes) -> str:
    return armor(envelope, LABEL)


def read_trial_certificate(
    fingerprint: str, trusted_keys: Mapping[str, Ed25519PublicKey]
) -> TrialCertificate | None:
    """The saved trial certificate if it is genuine and for this machine, else None."""
    try:
        data = trial_certificate_path().read_bytes()[: 16 * 1024 + 1]
    except FileNotFoundError:
        return None
    except OSError as error:
        log.warning("trial certificate unreadable: %s", error.strerror)
        return None
    try:
        cert = parse_trial_certificate(data, trusted_keys)
    except CertificateError as error:
        log.warning("trial certificate refused: %s", error)
        return None
    return cert if cert.fingerprint == fingerprint else None


def write_trial_certificate(cert: TrialCertificate) -> None:
    write_atomically(trial_certificate_path(), cert.armored.encode("ascii"))


# -- the third local copy of the trial start and last-seen time -----------------------
def read_trial_record() -> dict[str, Any]:
    try:
        value = json.loads(trial_record_path().read_bytes()[:4096].decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


# Read, change, write: two status checks at once (the License dialog's and another) must not
# interleave, or one's change is lost.
_record_lock = threading.Lock()


def update_trial_record(**changes: int) -> None:
    with _record_lock:
        record = read_trial_record()
        record.update(changes)
        try:
            write_atomically(trial_record_path(), json.dumps(record, sort_keys=True).encode())
        except OSError as error:
            log.warning("could not save the trial record: %s", error.strerror)
