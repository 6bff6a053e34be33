"""What the app is told: trial, license, updates window, clock, storage and keyring trouble."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
import time
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

from licensing.client import feature_status, keyring_store, license_status, status
from licensing.client.errors import LicenseStorageError
from licensing.client.fingerprint import fingerprint_of, machine_fingerprint
from licensing.client.keyring_store import KeyringStore
from licensing.client.license_files import read_certificate_bytes, write_certificate
from licensing.client.license_key import generate_key
from licensing.client.paths import KEYRING_SERVICE, certificate_path, state_path
from licensing.client.status import evaluate
from licensing.server.signing import Signer
from tests.keyring_memory import MemoryKeyring
from tests.licensing.conftest import cert_payload
from tests.licensing.keyring_backends import BrokenKeyring, HangingKeyring, LockedKeyring
from tests.perf import expect_fast

T0 = 1_780_000_000  # 2026-05-28
DAY = 86400
BUILD = dt.date(2026, 11, 29)


def at(now: float, release: dt.date = BUILD, store: KeyringStore | None = None):
    return evaluate(
        now=now,
        release_date=release,
        fingerprint=machine_fingerprint(),
        store=store or KeyringStore(),
    )


def install(signer: Signer, **changes: object) -> None:
    write_certificate(signer.certificate(cert_payload(**changes)))


def test_first_run_starts_a_14_day_trial_with_every_feature(memory_keyring: MemoryKeyring) -> None:
    first = at(T0)
    assert first.state == status.TRIAL
    assert first.allows("ai") and first.allows("sync")
    assert "14 days left" in first.reason
    assert memory_keyring.entries[(KEYRING_SERVICE, "trial-started")] == str(T0)
    assert at(T0 + 13 * DAY + 1).reason.startswith("Free trial: 1 day left")


def test_after_the_trial_ai_and_sync_stop_with_a_clear_reason() -> None:
    at(T0)
    later = at(T0 + 14 * DAY + 1)
    assert later.state == status.TRIAL_EXPIRED
    for name in ("ai", "sync"):
        feature = later.features[name]
        assert not feature.allowed
        assert "trial has ended" in feature.reason
        assert "Help > License" in feature.reason
        assert "documents, the editor and export keep working" in feature.reason


def test_trial_start_survives_a_deleted_state_file(memory_keyring: MemoryKeyring) -> None:
    at(T0)
    state_path().unlink()
    assert at(T0 + 15 * DAY).state == status.TRIAL_EXPIRED


def test_valid_license_enables_its_entitlements(signer: Signer) -> None:
    install(signer, entitlements=["ai"], edition="writer")
    result = at(T0 + 100)
    assert result.state == status.LICENSED
    assert result.allows("ai")
    assert not result.allows("sync")
    assert "writer edition does not include sync" in result.features["sync"].reason
    assert result.certificate is not None and result.certificate.edition == "writer"


def test_license_keeps_working_long_after_the_trial(signer: Signer) -> None:
    at(T0)
    install(signer)
    assert at(T0 + 400 * DAY).state == status.LICENSED


def test_newer_build_than_the_update_window_runs_unlicensed(signer: Signer) -> None:
    install(signer, updates_until="2026-06-30")
    at(T0)
    old_build = at(T0 + 20 * DAY, release=dt.date(2026, 6, 30))
    assert old_build.state == status.LICENSED
    new_build = at(T0 + 20 * DAY, release=dt.date(2026, 7, 1))
    assert new_build.state == status.UPDATES_EXPIRED
    assert not new_build.allows("ai")
    assert "released until 2026-06-30" in new_build.reason
    assert "versions you own keep working" in new_build.reason


def test_clock_rolled_back_pauses_features(signer: Signer) -> None:
    install(signer, issued=T0 - DAY)
    assert at(T0).state == status.LICENSED
    assert at(T0 - 3600).state == status.LICENSED  # within the two hours' slack
    rolled = at(T0 - 3 * 3600)
    assert rolled.state == status.CLOCK_PROBLEM
    assert not rolled.allows("ai")
    assert "clock" in rolled.reason
    assert at(T0 + 60).state == status.LICENSED  # clock fixed


def test_rollback_is_caught_even_without_the_keyring_entry(
    signer: Signer, memory_keyring: MemoryKeyring
) -> None:
    install(signer, issued=T0 - DAY)
    at(T0)
    memory_keyring.entries.pop((KEYRING_SERVICE, "last-seen"))
    assert at(T0 - DAY).state == status.CLOCK_PROBLEM


def test_certificate_for_another_machine_is_refused(signer: Signer) -> None:
    install(signer, fingerprint=fingerprint_of("someone-elses-laptop"))
    at(T0)
    during_trial = at(T0 + DAY)
    assert during_trial.state == status.TRIAL and "different computer" in during_trial.reason
    result = at(T0 + 15 * DAY)
    assert result.state == status.NOT_VALID
    assert "different computer" in result.reason


def test_tampered_certificate_file_is_refused(signer: Signer) -> None:
    install(signer)
    path = certificate_path()
    text = path.read_text()
    lines = text.splitlines()
    lines[2] = lines[2][:10] + ("A" if lines[2][10] != "A" else "B") + lines[2][11:]
    path.write_text("\n".join(lines) + "\n")
    at(T0)
    assert at(T0 + 15 * DAY).state == status.NOT_VALID


def test_deleted_certificate_file_falls_back_to_the_trial(signer: Signer) -> None:
    install(signer)
    assert at(T0).state == status.LICENSED
    certificate_path().unlink()
    assert at(T0 + 1).state == status.TRIAL


def test_no_keyring_backend_keeps_working_from_the_file(signer: Signer) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    install(signer)
    result = at(T0)
    assert result.state == status.LICENSED
    assert any("No system keyring" in note for note in result.notes)


def test_locked_keyring(signer: Signer) -> None:
    keyring.set_keyring(LockedKeyring())
    install(signer)
    result = at(T0)
    assert result.state == status.LICENSED
    assert any("locked" in note for note in result.notes)


def test_hanging_keyring_times_out_and_is_not_asked_again(
    signer: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = HangingKeyring()
    keyring.set_keyring(backend)
    monkeypatch.setattr(keyring_store, "DEFAULT_TIMEOUT_S", 0.3)
    install(signer)
    started = time.monotonic()
    result = at(T0)
    second = at(T0 + 1)
    elapsed = time.monotonic() - started
    backend.release.set()
    assert result.state == status.LICENSED and second.state == status.LICENSED
    assert any("did not answer" in note for note in result.notes)
    assert elapsed < 2.0
    assert backend.calls == 1


def test_broken_keyring_is_reported_plainly(signer: Signer) -> None:
    keyring.set_keyring(BrokenKeyring())
    install(signer)
    result = at(T0)
    assert result.state == status.LICENSED
    assert any("reported an error" in note for note in result.notes)


def test_corrupt_keyring_entries_are_ignored(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, "last-seen")] = "yesterday"
    memory_keyring.entries[(KEYRING_SERVICE, "trial-started")] = "\x00garbage"
    memory_keyring.entries[(KEYRING_SERVICE, "license-key")] = "not-a-key"
    assert at(T0).state == status.TRIAL
    assert KeyringStore().license_key() is None


def test_key_is_never_written_to_disk_without_a_keyring(
    isolated_user_dirs: dict[str, Path],
) -> None:
    from licensing.client import offline_request

    keyring.set_keyring(keyring.backends.fail.Keyring())
    key = generate_key()
    request = offline_request(key)  # the request itself carries the key, for the buyer
    assert key in __import__("base64").b64decode("".join(request.splitlines()[1:-1])).decode()
    for root in isolated_user_dirs.values():
        for path in root.rglob("*"):
            if path.is_file():
                assert key.encode() not in path.read_bytes(), path
                assert key.replace("-", "").encode() not in path.read_bytes(), path


def test_atomic_write_keeps_the_old_file_on_a_failed_write(
    signer: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(signer)
    before = read_certificate_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(LicenseStorageError, match="No space left on device"):
        write_certificate(signer.certificate(cert_payload(edition="pro")))
    assert read_certificate_bytes() == before
    assert [p.name for p in certificate_path().parent.iterdir() if p.name.endswith(".tmp")] == []


def test_read_only_certificate_file_is_still_replaced_on_refresh(signer: Signer) -> None:
    install(signer)
    certificate_path().chmod(0o444)
    install(signer, edition="pro")
    assert at(T0).certificate.edition == "pro"


def test_unwritable_license_folder_is_a_plain_error(signer: Signer) -> None:
    certificate_path().parent.parent.mkdir(parents=True, exist_ok=True)
    certificate_path().parent.write_text("a file where the folder should be")
    with pytest.raises(LicenseStorageError, match="Could not save the license file"):
        install(signer)


@pytest.mark.perf
def test_feature_status_is_fast_and_plain(signer: Signer) -> None:
    install(signer, updates_until="2099-01-01")
    assert feature_status("ai").allowed
    started = time.perf_counter()
    for _ in range(10_000):
        feature_status("ai")
    per_call = (time.perf_counter() - started) / 10_000
    # cached: no keyring, file or signature work (that is ~4 ms)
    expect_fast(per_call * 1e6, 200, "feature_status per call", "µs")
    assert license_status().state == status.LICENSED
    with pytest.raises(ValueError, match="unknown feature"):
        feature_status("printing")


def test_leftover_temp_file_from_a_crash_is_ignored(signer: Signer) -> None:
    install(signer)
    leftover = certificate_path().with_name(".license.txt.999.tmp")
    leftover.write_text("-----BEGIN DRAFTSMITH LICENSE-----\nhalf")
    assert at(T0).state == status.LICENSED


def test_a_ten_megabyte_license_file_is_refused_without_reading_it_all(signer: Signer) -> None:
    certificate_path().parent.mkdir(parents=True, exist_ok=True)
    with open(certificate_path(), "wb") as handle:
        handle.write(signer.certificate(cert_payload()).encode())
        handle.write(b"A" * (10 * 1024 * 1024))
    at(T0)
    result = at(T0 + 15 * DAY)
    assert result.state == status.NOT_VALID and "too large" in result.reason


# -- the offline horizon (faked clock) -----------------------------------------------------
def test_an_online_activation_pauses_ai_and_sync_after_90_days_without_a_check(
    signer: Signer,
) -> None:
    install(signer, activation="online", issued=T0, refresh_after=T0 + 30 * DAY)
    fresh = at(T0 + DAY)
    assert fresh.state == status.LICENSED and not fresh.refresh_due and not fresh.notes
    due = at(T0 + 31 * DAY)
    assert due.state == status.LICENSED and due.allows("ai") and due.refresh_due
    assert any("Refresh now" in note for note in due.notes)
    assert at(T0 + 90 * DAY - 60).allows("sync")
    paused = at(T0 + 90 * DAY + 1)
    assert paused.state == status.REFRESH_NEEDED
    assert paused.certificate is not None  # kept: a refresh brings everything back
    for name in ("ai", "sync"):
        assert not paused.features[name].allowed
        assert "Refresh now" in paused.features[name].reason
        assert "editor" in paused.features[name].reason
    ten_years = at(T0 + 3650 * DAY)
    assert ten_years.state == status.REFRESH_NEEDED and not ten_years.allows("ai")


@pytest.mark.parametrize("activation", ["offline", None])
def test_an_offline_activation_never_expires(signer: Signer, activation: str | None) -> None:
    """Air-gapped machines (and certificates from before the field existed) have no horizon."""
    changes: dict[str, object] = {"issued": T0, "refresh_after": T0 + 30 * DAY}
    if activation is not None:
        changes["activation"] = activation
    install(signer, **changes)
    ten_years = at(T0 + 3650 * DAY, release=BUILD)
    assert ten_years.state == status.LICENSED and ten_years.allows("ai")
    assert not ten_years.notes


def test_an_unknown_activation_kind_is_refused(signer: Signer) -> None:
    install(signer, activation="forever")
    refused = at(T0)
    assert refused.state == status.TRIAL and "cannot be used" in refused.reason


def test_the_feature_gate_fails_closed_for_ai_and_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.sync.entitlement import sync_permission

    def broken(**_: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(status, "evaluate", broken)
    status.invalidate_status_cache()
    ai, sync = feature_status("ai"), sync_permission()
    assert not ai.allowed and not sync.allowed
    assert "could not check its license" in ai.reason and "editor" in ai.reason
    assert "could not check its license" in sync.reason


def _slow_evaluation(
    monkeypatch: pytest.MonkeyPatch, answer: status.LicenseStatus
) -> tuple[threading.Event, list[str]]:
    """Replace the evaluation by one that waits for the returned event; notes its thread."""
    release, threads = threading.Event(), []

    def evaluate_now() -> status.LicenseStatus:
        threads.append(threading.current_thread().name)
        release.wait(10)
        return answer

    monkeypatch.setattr(status, "_evaluate_now", evaluate_now)
    return release, threads


def test_an_expired_status_is_answered_at_once_and_worked_out_in_a_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The editor's GUI thread asks on every AI action and idle warm-up; working the status
    out reads the keyring (a stall of up to ~0.1 s). Only the very first answer waits."""
    status.invalidate_status_cache()
    monkeypatch.setattr(status, "CACHE_S", 0.0)  # every answer is expired at once
    first = status.license_status()
    newer = dataclasses.replace(first, reason="worked out again")
    release, threads = _slow_evaluation(monkeypatch, newer)
    started = time.perf_counter()
    assert status.license_status() is first
    assert status.license_status() is first  # one refresh at a time
    assert time.perf_counter() - started < 0.5
    release.set()
    deadline = time.monotonic() + 10
    while status.license_status() is first and time.monotonic() < deadline:
        time.sleep(0.01)
    assert status.license_status() is newer
    assert threads and set(threads) == {"license-status"}


def test_an_invalidated_status_is_worked_out_again_before_it_is_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After an activation or a refund the next answer is the new one, never the old: a
    refresh that began before the invalidation is dropped."""
    status.invalidate_status_cache()
    monkeypatch.setattr(status, "CACHE_S", 0.0)
    first = status.license_status()
    stale = dataclasses.replace(first, reason="from before the invalidation")
    release, _ = _slow_evaluation(monkeypatch, stale)
    assert status.license_status() is first  # a refresh is now under way
    status.invalidate_status_cache()
    fresh = dataclasses.replace(first, reason="after the invalidation")
    monkeypatch.setattr(status, "_evaluate_now", lambda: fresh)
    monkeypatch.setattr(status, "CACHE_S", 60.0)
    assert status.license_status() is fresh  # worked out on this thread, no old answer
    release.set()  # the refresh from before the invalidation ends...
    deadline = time.monotonic() + 10
    while status._refreshing and time.monotonic() < deadline:
        time.sleep(0.01)
    assert status.license_status() is fresh  # ...and is not kept
