"""Key lookups are rate-limited per address (key enumeration)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from licensing.client import ActivationClient, ActivationError
from licensing.client.license_key import generate_key
from licensing.server.database import make_engine
from licensing.server.rate_limit import LookupLimiter, SlidingWindow
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


def test_windows_slide() -> None:
    window = SlidingWindow(2, 60.0)
    window.add("a", now=0.0)
    window.add("a", now=10.0)
    assert window.retry_after("a", now=20.0) == pytest.approx(40.0)
    assert window.retry_after("b", now=20.0) == 0.0
    assert window.retry_after("a", now=60.5) == 0.0
    limiter = LookupLimiter(per_minute=100, failures=1, failure_window_s=900)
    assert limiter.check("x") == 0.0
    limiter.failure("x")
    assert limiter.check("x") > 800
