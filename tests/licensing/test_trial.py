"""The trial can't be reset by deleting a file: the server-signed trial (one per machine) and
the hardened offline record."""

from __future__ import annotations

import time
from typing import Any

import keyring
import keyring.backends.null
import pytest

from licensing.client import ActivationClient, keyring_store, license_status, refresh_if_due, status
from licensing.client.errors import CertificateError
from licensing.client.fingerprint import fingerprint_of, machine_fingerprint
from licensing.client.license_files import read_state, update_state
from licensing.client.paths import KEYRING_SERVICE, state_path, trial_record_path
from licensing.client.trial import parse_trial_certificate, read_trial_record
from licensing.client.trusted_keys import trusted_keys
from licensing.server.models import Trial
from licensing.server.signing import Signer
from tests.keyring_memory import MemoryKeyring
from tests.licensing.conftest import RunningServer
from tests.licensing.keyring_backends import LockedKeyring
from tests.licensing.test_status import DAY, T0, at


def forget_local_records(memory_keyring: MemoryKeyring, *, record_too: bool = False) -> None:
    state_path().unlink(missing_ok=True)
    for entry in ("trial-started", "last-seen"):
        memory_keyring.entries.pop((KEYRING_SERVICE, entry), None)
    if record_too:
        trial_record_path().unlink(missing_ok=True)


def test_deleting_the_state_file_and_keyring_entries_does_not_restart_the_trial(
    memory_keyring: MemoryKeyring,
) -> None:
    assert at(T0).state == status.TRIAL
    forget_local_records(memory_keyring)
    day_30 = at(T0 + 30 * DAY)
    assert day_30.state == status.TRIAL_EXPIRED
    assert not day_30.allows("ai") and not day_30.allows("sync")


def test_a_future_trial_start_is_tampering_not_a_permanent_trial() -> None:
    keyring.set_keyring(keyring.backends.null.Keyring())  # as with PYTHON_KEYRING_BACKEND=null
    update_state(trial_started=2**40 - 1, last_seen=T0)
    later = at(T0 + DAY)
    assert later.state == status.TRIAL_EXPIRED
    assert "changed" in later.reason and not later.allows("ai")
    assert at(T0 + 400 * DAY).state == status.TRIAL_EXPIRED


def test_removing_last_seen_does_not_defeat_the_clock_check(
    memory_keyring: MemoryKeyring,
) -> None:
    at(T0)
    assert at(T0 + 20 * DAY).state == status.TRIAL_EXPIRED
    state = state_path().read_text()
    assert "last_seen" in state
    update_state(last_seen=None)
    memory_keyring.entries.pop((KEYRING_SERVICE, "last-seen"), None)
    trial_record_path().write_text(f'{{"trial_started": {T0}}}')
    rolled_back = at(T0 + DAY)  # the clock set back into the trial
    assert rolled_back.state == status.TRIAL_EXPIRED and not rolled_back.allows("ai")


def test_garbage_in_the_state_file_ends_the_trial(memory_keyring: MemoryKeyring) -> None:
    at(T0)
    update_state(trial_started="yesterday")
    assert at(T0 + DAY).state == status.TRIAL_EXPIRED


def test_the_server_keeps_one_trial_per_machine(server: RunningServer) -> None:
    client = ActivationClient(server.url)
    first = client.start_trial()
    again = client.start_trial()
    assert first.started == again.started and first.fingerprint == machine_fingerprint()
    with server.sessions() as session:
        assert session.get(Trial, machine_fingerprint()).started_at == first.started


def test_a_fresh_data_folder_and_no_keyring_get_the_servers_trial_back(
    server: RunningServer, memory_keyring: MemoryKeyring
) -> None:
    """On day 30: empty keyring, new XDG_DATA_HOME, no trial record: the server remembers."""
    day_0 = int(time.time()) - 30 * DAY
    with server.sessions() as session, session.begin():
        session.add(Trial(fingerprint=machine_fingerprint(), started_at=day_0))
    keyring.set_keyring(keyring.backends.null.Keyring())
    status.invalidate_status_cache()
    assert license_status().state == status.TRIAL  # offline, it looks like a first run...
    assert refresh_if_due(ActivationClient(server.url)) is None  # the background check
    status.invalidate_status_cache()
    now = license_status()
    assert now.state == status.TRIAL_EXPIRED and not now.allows("ai")
    # ...and deleting every local record again doesn't help once the server was asked.
    forget_local_records(memory_keyring, record_too=True)
    status.invalidate_status_cache()
    assert license_status().state == status.TRIAL_EXPIRED


def test_a_trial_certificate_for_another_machine_or_key_counts_for_nothing(
    signer: Signer, memory_keyring: MemoryKeyring
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from licensing.client.paths import trial_certificate_path
    from licensing.client.trial import trial_armor

    def trial_for(fingerprint: str, signing: Signer) -> str:
        payload = {
            "v": 1,
            "product": "draftsmith",
            "fingerprint": fingerprint,
            "started": T0,
            "issued": T0,
            "nonce": "n",
        }
        return trial_armor(signing.envelope("trial", payload))

    forged = Signer(Ed25519PrivateKey.generate(), signer.kid)
    with pytest.raises(CertificateError, match="signature does not match"):
        parse_trial_certificate(trial_for(machine_fingerprint(), forged), trusted_keys())
    genuine = trial_for(machine_fingerprint(), signer)
    assert parse_trial_certificate(genuine, trusted_keys()).started == T0
    for ignored in (
        trial_for(fingerprint_of("other"), signer),
        trial_for(machine_fingerprint(), forged),
    ):
        trial_certificate_path().parent.mkdir(parents=True, exist_ok=True)
        trial_certificate_path().write_text(ignored)
        fresh = at(T0 + 40 * DAY)  # a first run: the file counts for nothing
        assert fresh.state == status.TRIAL and "14 days left" in fresh.reason
        forget_local_records(memory_keyring, record_too=True)


def test_a_reinstall_whose_keyring_kept_the_trial_is_not_tampering_when_the_keyring_locks(
    memory_keyring: MemoryKeyring,
) -> None:
    """The app's files are gone (a reinstall, a new profile) but the keyring still holds the
    trial and a last time seen minutes ago. The next run is fine; the one after, with the
    keyring locked, only has the files: they must hold a last time seen beside the trial
    start, or a paying-to-be customer on day 2 is told their trial record was changed."""
    memory_keyring.entries[(KEYRING_SERVICE, "trial-started")] = str(T0 - DAY)
    memory_keyring.entries[(KEYRING_SERVICE, "last-seen")] = str(T0 - 60)
    assert at(T0).state == status.TRIAL
    keyring.set_keyring(LockedKeyring())
    keyring_store._reset_breaker()
    locked = at(T0 + DAY)
    assert locked.state == status.TRIAL, locked.reason
    assert "changed" not in locked.reason
    for record in (read_state(), read_trial_record()):
        assert record["trial_started"] == T0 - DAY and record["last_seen"] >= T0


@pytest.mark.parametrize("stops_at", [1, 2, 3])
def test_a_first_run_stopped_between_two_writes_is_still_a_trial(
    monkeypatch: pytest.MonkeyPatch, stops_at: int
) -> None:
    """The app is killed part-way through saving the first run's times (after the
    ``stops_at``-th file write): the next run, even without a keyring, is a trial."""
    from licensing.client import license_files
    from licensing.client import trial as trial_module

    class Killed(BaseException):
        pass

    writes: list[object] = []

    def counting(real: Any) -> Any:
        def write(path: Any, data: bytes) -> None:
            if len(writes) == stops_at:
                raise Killed
            writes.append(path)
            real(path, data)

        return write

    for module in (license_files, trial_module):
        monkeypatch.setattr(module, "write_atomically", counting(module.write_atomically))
    with pytest.raises(Killed):
        at(T0)
    monkeypatch.undo()
    keyring.set_keyring(keyring.backends.null.Keyring())
    keyring_store._reset_breaker()
    later = at(T0 + DAY)
    assert later.state == status.TRIAL, later.reason
