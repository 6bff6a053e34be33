"""The WebDAV client turns every non-WebDAV answer into a clear error (real server + proxy)."""

from __future__ import annotations

import pytest

from desktop.sync import errors
from desktop.sync.webdav import WebDavClient
from tests.sync.dav_harness import PASSWORD, USER, DavServer, FaultProxy


def _client(url: str, password: str = PASSWORD) -> WebDavClient:
    return WebDavClient(url, USER, password, timeout=5)


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (401, errors.RemoteAuthError, "app password"),
        (403, errors.RemoteAuthError, "app password"),
        (412, errors.RemotePreconditionFailed, "precondition"),
        (423, errors.RemoteLocked, "locked"),
        (507, errors.RemoteFull, "out of space"),
        (500, errors.RemoteServerError, "HTTP 500"),
        (503, errors.RemoteServerError, "HTTP 503"),
        (302, errors.RemoteProtocolError, "redirected"),
        (418, errors.RemoteServerError, "unexpected HTTP 418"),
    ],
)
def test_statuses_become_named_errors(
    proxy: FaultProxy, status: int, error: type, words: str
) -> None:
    proxy.set_policy(lambda method, path: f"status:{status}")
    client = _client(proxy.url)
    for call in (
        lambda: client.list_folder(""),
        lambda: client.put("tmp/x", b"1"),
        lambda: client.get("x"),
    ):
        with pytest.raises(error) as info:
            call()
        assert words in str(info.value)


def test_wrong_app_password_on_real_server(dav: DavServer) -> None:
    with pytest.raises(errors.RemoteAuthError):
        _client(dav.url, password="wrong").list_folder("")


def test_html_login_page_with_200_is_not_a_listing(proxy: FaultProxy) -> None:
    proxy.set_policy(lambda method, path: "html")
    client = _client(proxy.url)
    with pytest.raises(errors.RemoteProtocolError, match="login page"):
        client.list_folder("")
    with pytest.raises(errors.RemoteProtocolError, match="login page"):
        client.get("format.json")


def test_malformed_and_empty_propfind(proxy: FaultProxy) -> None:
    client = _client(proxy.url)
    proxy.set_policy(lambda method, path: "garbage_xml")
    with pytest.raises(errors.RemoteProtocolError, match="not valid XML"):
        client.list_folder("")
    proxy.set_policy(lambda method, path: "empty_multistatus")
    with pytest.raises(errors.RemoteProtocolError, match="does not describe"):
        client.list_folder("")


def test_dropped_connection_and_cut_download(proxy: FaultProxy) -> None:
    client = _client(proxy.url)
    client.put("file.bin", b"x" * 100_000)
    proxy.set_policy(lambda method, path: "drop")
    with pytest.raises(errors.RemoteUnreachable):
        client.get("file.bin")
    proxy.set_policy(lambda method, path: "truncate_download")
    with pytest.raises(errors.RemoteUnreachable):
        client.get("file.bin")
    proxy.clear()
    assert client.get("file.bin") == b"x" * 100_000


def test_nothing_listening() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(errors.RemoteUnreachable, match="could not be reached"):
        _client(f"http://127.0.0.1:{port}/").list_folder("")


def test_listing_mkcol_move_without_overwrite(dav: DavServer) -> None:
    client = _client(dav.url)
    client.mkcol("tmp")
    client.mkcol("tmp")  # already there: fine
    client.put("tmp/a", b"new")
    client.put("tmp/b", b"old")
    with pytest.raises(errors.SyncError):
        client.move("tmp/a", "tmp/b")
    assert client.get("tmp/b") == b"old"
    assert sorted(e.name for e in client.list_folder("tmp")) == ["a", "b"]
    assert client.stat("tmp/a").size == 3  # type: ignore[union-attr]
    assert client.stat("tmp/none") is None
    with pytest.raises(errors.RemoteNotFound):
        client.list_folder("no-such-folder")


def test_url_must_be_http() -> None:
    with pytest.raises(errors.RemoteProtocolError, match="https://"):
        WebDavClient("ftp://example.invalid/", USER, PASSWORD)


# --- a network failure is not tampering (issue 12, finding 3) --------------------------


def test_truncated_folder_listing_is_a_plain_network_error(proxy: FaultProxy) -> None:
    proxy.set_policy(lambda method, path: "truncate_download" if method == "PROPFIND" else None)
    with pytest.raises(errors.RemoteUnreachable) as info:
        _client(proxy.url).list_folder("")
    message = str(info.value)
    assert "dropped before its answer to PROPFIND / was complete" in message
    assert "IncompleteRead" not in message and "Connection broken" not in message
