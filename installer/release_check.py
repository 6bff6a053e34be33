"""Refuse to build a release that would ship development licensing.

A release build must not trust the development license key (every developer machine can sign
with it) and must not talk to a placeholder license server or shop URL. Test builds (CI, this
repository's installer tests) pass ``--test-build`` (or ``DRAFTSMITH_TEST_BUILD=1``): the check
still runs and prints what it found, but does not fail.

    python installer/release_check.py              # release: exit 1 on any problem
    python installer/release_check.py --test-build # test build: report only
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEST_BUILD_ENV = "DRAFTSMITH_TEST_BUILD"
# The development key pair (kid ds-2026-1) lives on developer machines; builds made with it
# accept licenses anyone with the repository's tooling can sign. sha256 of the raw public key.
DEVELOPMENT_KEYS = {
    "ds-2026-1": "sha256:" + hashlib.sha256(
        base64.b64decode("iZflXlo0vvWulBWyikWqyAtFBey7KHGX829IpOCLYHM=")
    ).hexdigest(),
}  # fmt: skip
PLACEHOLDER_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "::1")
PLACEHOLDER_SUFFIXES = (".example", ".invalid", ".test", ".local", ".localhost")
PLACEHOLDER_WORDS = ("example.", "placeholder", "changeme", "change-me", "todo", "xxx", "dummy")


def key_problems(table: Mapping[str, str]) -> list[str]:
    """``table``: kid -> base64 raw public key, as compiled into the app."""
    problems = []
    development = set(DEVELOPMENT_KEYS.values())
    for kid, raw in table.items():
        digest = "sha256:" + hashlib.sha256(base64.b64decode(raw)).hexdigest()
        if digest in development or kid in DEVELOPMENT_KEYS:
            problems.append(
                f"The license key '{kid}' in licensing/client/trusted_keys.py is the development "
                "key: put the vendor's release public key there (draftsmith-license keygen)."
            )
    if not table:
        problems.append("No license public key is compiled in.")
    return problems


def url_problems(name: str, url: str) -> list[str]:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    lowered = url.lower()
    if parts.scheme != "https":
        return [f"{name} ({url}) is not an https:// address."]
    if (
        not host
        or host in PLACEHOLDER_HOSTS
        or host.endswith(PLACEHOLDER_SUFFIXES)
        or any(word in lowered for word in PLACEHOLDER_WORDS)
    ):
        return [f"{name} ({url}) is a placeholder address."]
    return []


def compiled_settings() -> tuple[dict[str, str], dict[str, str]]:
    """The key table and the URLs the app would ship with (read from the source)."""
    from licensing.client import activation, trusted_keys

    urls = {"License server URL": activation.DEFAULT_SERVER_URL}
    license_dialog = ROOT / "desktop" / "ui" / "license_dialog.py"
    for line in license_dialog.read_text(encoding="utf-8").splitlines():
        if line.startswith("BUY_URL = "):
            urls["Shop URL (license dialog)"] = line.split("=", 1)[1].strip().strip("\"'")
    return dict(trusted_keys._COMPILED), urls


def problems() -> list[str]:
    table, urls = compiled_settings()
    found = key_problems(table)
    for name, url in urls.items():
        found += url_problems(name, url)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Refuse a release built with development keys.")
    parser.add_argument(
        "--test-build",
        action="store_true",
        default=os.environ.get(TEST_BUILD_ENV) == "1",
        help=f"a test build: report, do not fail (also {TEST_BUILD_ENV}=1)",
    )
    args = parser.parse_args(argv)
    found = problems()
    if not found:
        print("Release check passed: release license key and real server addresses.")
        return 0
    for problem in found:
        print(f"{'note' if args.test_build else 'REFUSED'}: {problem}")
    if args.test_build:
        print("Test build: these are allowed here. A release build stops on them.")
        return 0
    print("This is not a release build. For a test build, pass --test-build.")
    return 1


if __name__ == "__main__":
    sys.exit(main())
