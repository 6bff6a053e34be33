"""Fixtures over the real WebDAV servers, proxy and devices in ``dav_harness``.

tests/sync/conftest.py makes them available to the sync tests; other test folders (the sync
UI tests) import them from here, never from a conftest."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.sync.dav_harness import (
    DavServer,
    FaultProxy,
    Fleet,
    running_proxy,
    running_rclone,
    running_wsgidav,
)


@pytest.fixture
def wsgidav_server(tmp_path: Path) -> Iterator[DavServer]:
    root = tmp_path / "wsgidav-root"
    root.mkdir()
    with running_wsgidav(root) as server:
        yield server


@pytest.fixture
def rclone_server(tmp_path: Path) -> Iterator[DavServer]:
    if shutil.which("rclone") is None:
        pytest.skip("rclone is not installed (make test installs it from Debian's packages)")
    root = tmp_path / "rclone-root"
    root.mkdir()
    with running_rclone(root, tmp_path) as server:
        yield server


@pytest.fixture(params=["wsgidav", "rclone"])
def dav(request: pytest.FixtureRequest) -> DavServer:
    return request.getfixturevalue(f"{request.param}_server")


@pytest.fixture
def proxy(wsgidav_server: DavServer) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of WsgiDAV."""
    with running_proxy(wsgidav_server.url) as p:
        yield p


@pytest.fixture
def fleet_factory(tmp_path: Path) -> Iterator[Callable[[str], Fleet]]:
    fleets: list[Fleet] = []

    def make(url: str, sub: str = "fleet") -> Fleet:
        fleet = Fleet(tmp_path / sub, url)
        fleets.append(fleet)
        return fleet

    yield make
    for fleet in fleets:
        fleet.close()
