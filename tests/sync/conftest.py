"""The WebDAV fixtures (tests/sync/dav_fixtures.py) for every test in this folder."""

from tests.sync.dav_fixtures import (  # noqa: F401 - fixtures
    dav,
    fleet_factory,
    proxy,
    rclone_server,
    wsgidav_server,
)
