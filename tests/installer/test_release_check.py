"""A release build is refused while the app trusts the development license key or talks to a
placeholder address; a test build says so and goes on."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from installer import release_check
from licensing.client import trusted_keys

REAL_URLS = {"License server URL": "https://licenses.draftsmith.app"}


def _fresh_key() -> str:
    public = Ed25519PrivateKey.generate().public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def test_the_development_key_is_recognised_in_the_compiled_table() -> None:
    compiled, _urls = release_check.compiled_settings()
    assert compiled == trusted_keys._COMPILED
    if "ds-2026-1" in compiled:
        assert release_check.key_problems(compiled)


def test_the_development_key_is_refused_even_under_another_kid() -> None:
    dev = trusted_keys._COMPILED.get("ds-2026-1") or next(iter(trusted_keys._COMPILED.values()))
    problems = release_check.key_problems({"ds-2027-1": dev})
    if "ds-2026-1" in trusted_keys._COMPILED:
        assert problems and "development key" in problems[0]


def test_a_release_key_passes() -> None:
    assert release_check.key_problems({"ds-2027-1": _fresh_key()}) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://licenses.draftsmith.app",
        "https://localhost:8000",
        "https://127.0.0.1",
        "https://licenses.example.com",
        "https://license-server.invalid",
        "https://placeholder.draftsmith.app",
    ],
)
def test_placeholder_server_addresses_are_refused(url: str) -> None:
    assert release_check.url_problems("License server URL", url)


def test_a_real_https_address_passes() -> None:
    assert release_check.url_problems("License server URL", "https://licenses.draftsmith.app") == []


def test_release_build_fails_and_test_build_passes_with_the_development_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    dev = {"ds-2026-1": "iZflXlo0vvWulBWyikWqyAtFBey7KHGX829IpOCLYHM="}
    monkeypatch.setattr(release_check, "compiled_settings", lambda: (dev, REAL_URLS))
    monkeypatch.delenv(release_check.TEST_BUILD_ENV, raising=False)
    assert release_check.main([]) == 1
    assert "REFUSED" in capsys.readouterr().out
    assert release_check.main(["--test-build"]) == 0
    monkeypatch.setenv(release_check.TEST_BUILD_ENV, "1")
    assert release_check.main([]) == 0


def test_release_build_passes_with_a_release_key(monkeypatch: pytest.MonkeyPatch) -> None:
    table = {"ds-2027-1": _fresh_key()}
    monkeypatch.setattr(release_check, "compiled_settings", lambda: (table, REAL_URLS))
    monkeypatch.delenv(release_check.TEST_BUILD_ENV, raising=False)
    assert release_check.main([]) == 0
