"""Key lookups are rate-limited per address (key enumeration)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from licensing.client import ActivationClient, ActivationError
from licensing.client.license_key import generate_key
from licensing.server.database import make_engine
from licensing.server.rate_limit import LookupLimiter
from licensing.server.signing import Signer
from tests.licensing.conftest import RunningServer, running_server, settings_for


@pytest.fixture()
def strict_server(tmp_path: Path, signer: Signer) -> Iterator[RunningServer]:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    settings = settings_for(url, failed_lookups_per_window=3, lookups_per_minute=8)
    with running_server(settings, signer, make_engine(url)) as running:
        yield running


def test_guessing_keys_gets_an_address_blocked(strict_server: RunningServer) -> None:
    _, real_key = strict_server.mint()
    client = ActivationClient(strict_server.url)
    for _ in range(3):
        with pytest.raises(ActivationError) as info:
            client.activate(generate_key())
        assert info.value.code == "NOT_FOUND"
    with pytest.raises(ActivationError) as blocked:
        client.activate(real_key)  # even a right key waits now
    assert blocked.value.code == "RATE_LIMITED"
    assert "Please wait" in str(blocked.value)


def test_too_many_lookups_per_minute(strict_server: RunningServer) -> None:
    _, key = strict_server.mint()
    client = ActivationClient(strict_server.url)
    for _ in range(8):
        client.machines(key)
    with pytest.raises(ActivationError) as info:
        client.machines(key)
    assert info.value.code == "RATE_LIMITED"


def test_the_budgets_are_counted_in_the_database(tmp_path: Path) -> None:
    from licensing.server.database import make_sessions

    url = f"sqlite:///{tmp_path / 'limits.db'}"
    sessions = make_sessions(make_engine(url))
    limiter = LookupLimiter(sessions, per_minute=2, failures=1, failure_window_s=900)
    assert limiter.check("a", now=0.0) == 0.0
    assert limiter.check("a", now=10.0) == 0.0
    assert limiter.check("a", now=20.0) == pytest.approx(40.0)  # the minute is used up
    assert limiter.check("b", now=20.0) == 0.0  # per address
    assert limiter.check("a", now=61.0) > 0  # a burst across the minute's end still counts
    assert limiter.check("a", now=240.0) == 0.0  # minutes later: allowed again
    limiter.failure("x", now=100.0)
    assert limiter.check("x", now=100.0) == pytest.approx(800.0)
    # A second limiter (another server process) on the same database sees the same counts.
    other = LookupLimiter(make_sessions(make_engine(url)), 2, 1, 900)
    assert other.check("x", now=200.0) == pytest.approx(700.0)
    assert other.check("c", now=300.0) == 0.0
    assert limiter.check("c", now=301.0) == 0.0
    assert other.check("c", now=302.0) > 0  # 3 lookups in one minute, across both
