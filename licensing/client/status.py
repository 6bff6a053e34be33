"""What this copy of Draftsmith may do right now, worked out offline in well under a millisecond
once cached: the one question the rest of the app asks licensing.

Order: the clock (not rolled back past the last time seen), the certificate file (strictly
verified, for this machine, not withdrawn by the server, and for an online-activated machine
not past its offline horizon), this build's release date against ``updates_until``, then
the 14-day trial.

The horizon: an online-activated certificate is refreshed in the background; its refresh is
due at ``refresh_after`` (30 days after it was issued) and it keeps working for ``GRACE_S``
more (up to 90 days without reaching the server). After that AI features and sync pause
until a refresh succeeds. A certificate from offline activation (an air-gapped machine) has
no horizon. The editor, the writer's files and export never depend on any of this; only
the features named in ``FEATURES`` do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from licensing.client import build_info
from licensing.client.certificate import Certificate, check_certificate, parse_certificate
from licensing.client.errors import CertificateError, KeyringUnavailable, LicenseStorageError
from licensing.client.fingerprint import machine_fingerprint
from licensing.client.keyring_store import LAST_SEEN_ENTRY, TRIAL_ENTRY, KeyringStore
from licensing.client.license_files import read_certificate_bytes, read_state, update_state
from licensing.client.trial import read_trial_certificate, read_trial_record, update_trial_record
from licensing.client.trusted_keys import trusted_keys
from licensing.client.withdrawals import withdrawal_of
from licensing.protocol import ActivationMode

log = logging.getLogger(__name__)

FEATURES = ("ai", "sync")
FEATURE_NAMES = {"ai": "AI features", "sync": "sync"}
TRIAL_DAYS = 14
DAY_S = 86400
ROLLBACK_SLACK_S = 2 * 3600
LAST_SEEN_WRITE_EVERY_S = 600
CACHE_S = 60.0
KEEPS_WORKING = "Your documents, the editor and export keep working."
# After refresh_after, an online-activated certificate works this much longer offline.
GRACE_S = 60 * DAY_S


class LicenseState(StrEnum):
    LICENSED = "licensed"
    TRIAL = "trial"
    TRIAL_EXPIRED = "trial_expired"
    UPDATES_EXPIRED = "updates_expired"
    NOT_VALID = "not_valid"  # a license file is present but refused, or the server withdrew it
    REFRESH_NEEDED = "refresh_needed"  # online-activated, and offline past the horizon
    CLOCK_PROBLEM = "clock_problem"


LICENSED = LicenseState.LICENSED
TRIAL = LicenseState.TRIAL
TRIAL_EXPIRED = LicenseState.TRIAL_EXPIRED
UPDATES_EXPIRED = LicenseState.UPDATES_EXPIRED
NOT_VALID = LicenseState.NOT_VALID
REFRESH_NEEDED = LicenseState.REFRESH_NEEDED
CLOCK_PROBLEM = LicenseState.CLOCK_PROBLEM


def grace_ends(cert: Certificate) -> int | None:
    """When an online-activated certificate stops working offline (None: never)."""
    if cert.activation is not ActivationMode.ONLINE:
        return None
    return cert.refresh_after + GRACE_S


@dataclass(frozen=True)
class FeatureStatus:
    allowed: bool
    reason: str


@dataclass(frozen=True)
class LicenseStatus:
    state: LicenseState
    reason: str
    features: Mapping[str, FeatureStatus]
    certificate: Certificate | None = None
    trial_ends: int | None = None
    notes: tuple[str, ...] = field(default=())
    refresh_due: bool = False

    def allows(self, feature: str) -> bool:
        status = self.features.get(feature)
        return bool(status and status.allowed)

    @property
    def trial_days_left(self) -> int | None:
        if self.trial_ends is None:
            return None
        return max(0, -(-(self.trial_ends - int(time.time())) // DAY_S))


def _all(allowed: bool, reason: str) -> dict[str, FeatureStatus]:
    return {name: FeatureStatus(allowed, reason) for name in FEATURES}


def _read_times(store: KeyringStore, notes: list[str]) -> tuple[int | None, int | None]:
    try:
        return store.time_entry(LAST_SEEN_ENTRY), store.time_entry(TRIAL_ENTRY)
    except KeyringUnavailable as error:
        notes.append(str(error))
        return None, None


def _latest(*values: object) -> int | None:
    found = [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v >= 0]
    return max(found) if found else None


def _record(store: KeyringStore, keyring_ok: bool, **times: int) -> None:
    """Keep times (``last_seen``, ``trial_started``) in all three places: state file, trial
    record, keyring.

    Each file gets all of them in one atomic write, and the keyring gets the last time seen
    first: a trial start is never on record anywhere without a last time seen next to it, even
    if the app is stopped between two writes. (A start without one reads as tampering.)
    """
    update_state(**times)
    update_trial_record(**times)
    if keyring_ok:
        with contextlib.suppress(KeyringUnavailable):
            for name, entry in (("last_seen", LAST_SEEN_ENTRY), ("trial_started", TRIAL_ENTRY)):
                if name in times:
                    store.store_time_entry(entry, times[name])


def trust_server_time(when: int, store: KeyringStore | None = None) -> None:
    """Set the last time seen to the license server's signed clock.

    This is how a clock that was once set too far ahead (and then corrected) stops counting
    as "rolled back": the next successful activation or refresh resets the reference.
    """
    store = store or KeyringStore()
    update_state(last_seen=int(when))
    with contextlib.suppress(KeyringUnavailable):
        store.store_time_entry(LAST_SEEN_ENTRY, int(when))
    invalidate_status_cache()


def evaluate(
    *,
    now: float,
    release_date: dt.date,
    fingerprint: str,
    store: KeyringStore,
) -> LicenseStatus:
    """Work out the license status from scratch (no cache, no network)."""
    notes: list[str] = []
    kr_last_seen, kr_trial = _read_times(store, notes)
    keyring_ok = not notes
    state = read_state()
    trial_record = read_trial_record()
    last_seen = _latest(kr_last_seen, state.get("last_seen"), trial_record.get("last_seen"))

    if last_seen is not None and now < last_seen - ROLLBACK_SLACK_S:
        seen = dt.datetime.fromtimestamp(last_seen).strftime("%Y-%m-%d %H:%M")
        reason = (
            f"This computer's clock is set earlier than the last time Draftsmith ran ({seen}). "
            "Please correct the date and time; AI features and sync are paused until then. "
            "If the date was wrong before and is right now, connect to the internet and "
            f"activate again in Help > License (your seat is kept). {KEEPS_WORKING}"
        )
        return LicenseStatus(CLOCK_PROBLEM, reason, _all(False, reason), notes=tuple(notes))
    if last_seen is None or now > last_seen + LAST_SEEN_WRITE_EVERY_S:
        _record(store, keyring_ok, last_seen=int(now))

    problem: str | None = None
    # The server withdrew the license (refund, revocation): that ends the trial as well.
    withdrawn: str | None = None
    cert: Certificate | None = None
    verdict = state.get("verdict")
    try:
        data = read_certificate_bytes()
        if data is not None:
            cert = parse_certificate(data, trusted_keys())
            check_certificate(cert, fingerprint=fingerprint, now=now)
        elif isinstance(verdict, str):
            withdrawn = verdict
    except (CertificateError, LicenseStorageError) as error:
        log.warning("license file refused: %s", error)
        problem = f"The license file on this computer cannot be used: {error}"
        cert = None
    if cert is not None:
        record = withdrawal_of(cert, store)
        if record is not None:
            withdrawn, cert = record.reason, None
    if withdrawn is not None:
        reason = f"{withdrawn} {KEEPS_WORKING}"
        return LicenseStatus(NOT_VALID, reason, _all(False, reason), notes=tuple(notes))

    if cert is not None:
        refresh_due = now >= cert.refresh_after
        horizon = grace_ends(cert)
        if horizon is not None and now >= horizon:
            since = dt.datetime.fromtimestamp(cert.issued).strftime("%Y-%m-%d")
            reason = (
                f"Draftsmith has not been able to check your license since {since}. "
                "AI features and sync pause after 90 days without a check: connect to the "
                "internet and press Refresh now in Help > License. "
                f"{KEEPS_WORKING}"
            )
            return LicenseStatus(
                REFRESH_NEEDED,
                reason,
                _all(False, reason),
                certificate=cert,
                notes=tuple(notes),
                refresh_due=True,
            )
        if release_date <= cert.updates_until:
            features = {}
            for name in FEATURES:
                if name in cert.entitlements:
                    features[name] = FeatureStatus(True, f"Licensed ({cert.edition} edition).")
                else:
                    features[name] = FeatureStatus(
                        False,
                        f"Your {cert.edition} edition does not include {FEATURE_NAMES[name]}.",
                    )
            if refresh_due and horizon is not None:
                pause = dt.datetime.fromtimestamp(horizon).strftime("%Y-%m-%d")
                notes.append(
                    "Draftsmith could not check your license with the server lately. It keeps "
                    f"trying; if it still can't by {pause}, AI features and sync pause until "
                    "it can (Help > License > Refresh now)."
                )
            return LicenseStatus(
                LICENSED,
                f"Licensed: {cert.edition} edition, updates until {cert.updates_until}.",
                features,
                certificate=cert,
                notes=tuple(notes),
                refresh_due=refresh_due,
            )
        problem = (
            f"Your license covers Draftsmith versions released until {cert.updates_until}; "
            f"this version was released on {release_date}. The versions you own keep "
            "working with every feature; renew your updates to use AI features and sync in "
            "this one."
        )

    trial_started, tampered = _trial_start(
        now=now,
        fingerprint=fingerprint,
        local=(kr_trial, state.get("trial_started"), trial_record.get("trial_started")),
        last_seen=last_seen,
    )
    if not tampered and (
        (keyring_ok and kr_trial != trial_started)
        or state.get("trial_started") != trial_started
        or trial_record.get("trial_started") != trial_started
    ):
        # With the last time seen: a file that had none (a fresh install whose keyring still
        # holds a recent one) must not say "trial started, never seen" on the next run.
        seen_at = max(int(now), last_seen or 0)
        _record(store, keyring_ok, last_seen=seen_at, trial_started=trial_started)
    trial_ends = trial_started + TRIAL_DAYS * DAY_S
    if tampered:
        reason = (
            "Your 14-day trial has ended: the trial record on this computer was changed, or "
            "its clock was far off. Buy Draftsmith or enter your license key in Help > "
            "License to use AI features and sync; if this is a mistake, connect to the "
            f"internet and Draftsmith checks the trial with the server. {KEEPS_WORKING}"
        )
        return LicenseStatus(
            TRIAL_EXPIRED, reason, _all(False, reason), trial_ends=trial_ends, notes=tuple(notes)
        )
    if now < trial_ends:
        days = -(-int(trial_ends - now) // DAY_S)
        reason = f"Free trial: {days} day{'s' if days != 1 else ''} left."
        if problem:
            reason = f"{reason} {problem}"
        return LicenseStatus(
            TRIAL,
            reason,
            _all(True, reason),
            certificate=None,
            trial_ends=trial_ends,
            notes=tuple(notes),
        )
    if problem:
        reason = f"{problem} {KEEPS_WORKING}"
        status = UPDATES_EXPIRED if cert is not None else NOT_VALID
        return LicenseStatus(
            status,
            reason,
            _all(False, reason),
            certificate=cert,
            trial_ends=trial_ends,
            notes=tuple(notes),
        )
    reason = (
        "Your 14-day trial has ended. Buy Draftsmith or enter your license key in "
        f"Help > License to use AI features and sync. {KEEPS_WORKING}"
    )
    return LicenseStatus(
        TRIAL_EXPIRED, reason, _all(False, reason), trial_ends=trial_ends, notes=tuple(notes)
    )


def _is_time(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**40


def _trial_start(
    *, now: float, fingerprint: str, local: tuple[object, ...], last_seen: int | None
) -> tuple[int, bool]:
    """When the trial started, and whether the local records were tampered with.

    The server's signed start wins (with any earlier, sane local start). Offline: a start
    that isn't a sane time, lies in the future, or comes without any "last seen" time means
    the records were changed; that ends the trial instead of starting a new one.
    """
    present = [value for value in local if value is not None]
    sane = [
        v for v in present if isinstance(v, int) and _is_time(v) and v <= now + ROLLBACK_SLACK_S
    ]
    server = read_trial_certificate(fingerprint, trusted_keys())
    if server is not None:
        return min([server.started, *sane]), False
    if not present:
        return int(now), False
    tampered = len(sane) != len(present) or last_seen is None
    return (min(sane) if sane else int(now)), tampered


_cache_lock = threading.Lock()
_cached: tuple[float, str, LicenseStatus] | None = None
_generation = 0  # bumped by every invalidation: a refresh begun before one is not kept
_refreshing = False


def invalidate_status_cache() -> None:
    """Forget the cached status (after activation, import, deactivation or a refresh)."""
    global _cached, _generation
    with _cache_lock:
        _cached = None
        _generation += 1


def _evaluate_now(now: float | None = None) -> LicenseStatus:
    return evaluate(
        now=time.time() if now is None else now,
        release_date=build_info.RELEASE_DATE,
        fingerprint=machine_fingerprint(),
        store=KeyringStore(),
    )


def _keep(where: str, generation: int, result: LicenseStatus) -> None:
    global _cached
    with _cache_lock:
        if generation == _generation:
            _cached = (time.monotonic() + CACHE_S, where, result)


def _refresh(where: str, generation: int) -> None:
    global _cached, _refreshing
    try:
        _keep(where, generation, _evaluate_now())
    except Exception:  # the next caller evaluates in its own thread and sees the error
        log.exception("refreshing the license status failed")
        with _cache_lock:
            if generation == _generation:
                _cached = None
    finally:
        with _cache_lock:
            _refreshing = False


def license_status(*, now: float | None = None) -> LicenseStatus:
    """The license status, cached for a minute. Never touches the network.

    Working it out reads the keyring and checks the certificate (up to ~0.1 s), and the
    editor's GUI thread asks: an expired result is returned once more while a thread works
    out the new one (a refund or expiry lands within a minute or two; an invalidation at
    once). Only the first call waits, and ``prefetch_license_status`` makes that a thread.

    Pass ``now`` only to evaluate at another time (tests); that result is not cached.
    """
    global _refreshing
    if now is not None:
        return _evaluate_now(now)
    # A different user data dir (tests, a second profile) is a different answer; the env
    # lookup is what keeps this check cheap enough for every call.
    where = os.environ.get("XDG_DATA_HOME", "")
    with _cache_lock:
        generation = _generation
        cached = _cached if _cached is not None and _cached[1] == where else None
        if cached is not None and time.monotonic() < cached[0]:
            return cached[2]
        if cached is not None:
            if not _refreshing:
                _refreshing = True
                threading.Thread(
                    target=_refresh, args=(where, generation), name="license-status", daemon=True
                ).start()
            return cached[2]
    result = _evaluate_now()
    _keep(where, generation, result)
    return result


def prefetch_license_status() -> None:
    """Work the status out in a thread now, so the GUI thread's first check finds it."""
    threading.Thread(target=license_status, name="license-status", daemon=True).start()


def feature_status(feature: str) -> FeatureStatus:
    """The one feature gate: may the app use ``feature`` ("ai" or "sync") now?

    ``allowed`` plus a plain-words reason. It fails closed: if the license can't be worked
    out at all (an unexpected error), the feature is off, with a reason, and nothing is
    raised. The editor never asks, so it never locks.
    """
    if feature not in FEATURES:
        raise ValueError(f"unknown feature {feature!r}; expected one of {FEATURES}")
    try:
        return license_status().features[feature]
    except Exception:
        log.exception("the license check for %s failed", feature)
        return FeatureStatus(
            False,
            f"Draftsmith could not check its license, so {FEATURE_NAMES[feature]} "
            f"{'are' if feature == 'ai' else 'is'} paused. {KEEPS_WORKING}",
        )
