"""A small, strict WebDAV client on ``requests``.

Strict means: anything that is not the answer a WebDAV server gives becomes a clear
``SyncError`` -- an HTML login page served with 200, broken XML, an empty multistatus, a
status the operation does not expect. Nothing here retries; the engine decides.

One client may be used from several threads at once (``transfer`` runs blob uploads and
downloads in parallel): each thread gets its own ``requests.Session``, so its own kept-alive
connection, and ``close`` closes them all.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import quote, unquote, urlsplit

import requests

from desktop.sync import errors

log = logging.getLogger(__name__)

_DAV = "{DAV:}"
_PROPFIND_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getcontentlength/></d:prop>'
    b"</d:propfind>"
)


@dataclass(frozen=True)
class Entry:
    name: str
    is_dir: bool
    size: int | None


class WebDavClient:
    def __init__(self, base_url: str, user: str, password: str, timeout: float = 30.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise errors.RemoteProtocolError(
                f"The server address must start with https:// (or http://): {base_url!r}"
            )
        self.base_url = base_url.rstrip("/") + "/"
        self._base_path = urlsplit(self.base_url).path
        self.timeout = timeout
        self._auth = (user, password)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    @property
    def _session(self) -> requests.Session:
        """This thread's session (requests does not promise a session is thread-safe)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.auth = self._auth
            session.headers["User-Agent"] = "Draftsmith-Sync/1"
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    def url(self, path: str) -> str:
        return self.base_url + quote(path.lstrip("/"))

    # --- requests --------------------------------------------------------------------

    def _request(
        self, method: str, path: str, expected: tuple[int, ...], **kwargs: Any
    ) -> requests.Response:
        url = self.url(path)
        try:
            # Never follow redirects: a WebDAV server answers in place, and a redirected PUT
            # would quietly turn into a GET of a login page.
            response = self._session.request(
                method, url, timeout=self.timeout, allow_redirects=False, **kwargs
            )
        except requests.exceptions.SSLError as exc:
            raise errors.RemoteUnreachable(
                f"The server's certificate could not be verified ({url})."
            ) from exc
        except (
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            # The server's answer was cut off part-way (IncompleteRead): a network failure.
            log.info("%s %s: answer cut short: %s", method, path, exc)
            raise errors.RemoteUnreachable(
                f"The connection to the sync server dropped before its answer to {method} "
                f"{path or '/'} was complete (a network problem). Sync will try again."
            ) from exc
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise errors.RemoteUnreachable(
                f"The sync server could not be reached at {self.base_url} ({method} "
                f"{path or '/'}). Check the address and your network connection."
            ) from exc
        except requests.exceptions.RequestException as exc:
            log.info("%s %s failed: %s", method, path, exc)
            raise errors.RemoteUnreachable(
                f"The connection to the sync server failed during {method} {path or '/'}. "
                "Sync will try again."
            ) from exc
        if response.status_code not in expected:
            self._raise_for_status(method, path, response)
        return response

    @staticmethod
    def _raise_for_status(method: str, path: str, response: requests.Response) -> None:
        status = response.status_code
        what = f"{method} {path or '/'}"
        response.close()
        if status in (401, 403):
            raise errors.RemoteAuthError(
                f"The server refused the user name or app password (HTTP {status})."
            )
        if status == 404:
            raise errors.RemoteNotFound(f"The server has no {path or 'folder'} (HTTP 404).")
        if status == 412:
            raise errors.RemotePreconditionFailed(
                f"The server refused {what}: precondition failed (HTTP 412)."
            )
        if status == 423:
            raise errors.RemoteLocked(
                f"The server says {path} is locked (HTTP 423). Sync will try again later."
            )
        if status == 507:
            raise errors.RemoteFull("The sync server is out of space (HTTP 507). Free space there.")
        if 300 <= status < 400:
            target = response.headers.get("Location", "another address")
            raise errors.RemoteProtocolError(
                f"The server redirected {what} to {target} (a login page?). Check the server "
                "address: it must be the WebDAV address itself."
            )
        if 500 <= status < 600:
            raise errors.RemoteServerError(
                f"The sync server had an internal error (HTTP {status}) on {what}."
            )
        raise errors.RemoteServerError(
            f"The sync server answered {what} with unexpected HTTP {status}."
        )

    @staticmethod
    def _looks_like_html(response: requests.Response) -> bool:
        ctype = response.headers.get("Content-Type", "").lower()
        return "text/html" in ctype

    def list_folder(self, path: str) -> list[Entry]:
        """Children of a folder (Depth: 1). A missing folder raises RemoteNotFound."""
        folder = path.rstrip("/") + "/" if path else ""
        entries = self._propfind(folder, "1")
        own = urlsplit(self.url(folder)).path.rstrip("/")
        children = []
        for href, entry in entries:
            if unquote(href).rstrip("/") == unquote(own):
                continue
            children.append(entry)
        if len(children) == len(entries):
            # A real server always lists the folder itself; an answer without it is not WebDAV.
            raise errors.RemoteProtocolError(
                f"The server's listing of {folder or '/'} does not describe that folder."
            )
        return children

    def _propfind(self, path: str, depth: str) -> list[tuple[str, Entry]]:
        """PROPFIND ``path`` at ``depth`` ("0" or "1"): (href, entry) for each answer."""
        response = self._request(
            "PROPFIND",
            path,
            (207, 200),
            data=_PROPFIND_BODY,
            headers={"Depth": depth, "Content-Type": "application/xml; charset=utf-8"},
        )
        if response.status_code != 207 or self._looks_like_html(response):
            raise errors.RemoteProtocolError(
                "The server answered with a web page (probably a login page) instead of WebDAV. "
                "Check the server address: it must be the WebDAV address, not the web page."
            )
        return self._parse_multistatus(response.content)

    def _parse_multistatus(self, body: bytes) -> list[tuple[str, Entry]]:
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise errors.RemoteProtocolError(
                "The server sent a folder listing that is not valid XML."
            ) from exc
        if root.tag != f"{_DAV}multistatus":
            raise errors.RemoteProtocolError(
                "The server sent a folder listing in an unknown format."
            )
        result = []
        for response in root.findall(f"{_DAV}response"):
            href_el = response.find(f"{_DAV}href")
            href_text = (href_el.text or "").strip() if href_el is not None else ""
            if not href_text:
                raise errors.RemoteProtocolError("The server sent a folder listing without names.")
            href = urlsplit(href_text).path
            is_dir = response.find(f".//{_DAV}resourcetype/{_DAV}collection") is not None
            size_el = response.find(f".//{_DAV}getcontentlength")
            size = None
            if size_el is not None and (size_el.text or "").strip():
                try:
                    size = int(size_el.text.strip())  # type: ignore[union-attr]
                except ValueError as exc:
                    raise errors.RemoteProtocolError("The server sent a broken file size.") from exc
            name = unquote(href.rstrip("/").rsplit("/", 1)[-1])
            result.append((href, Entry(name=name, is_dir=is_dir, size=size)))
        return result

    def stat(self, path: str) -> Entry | None:
        """Depth 0 PROPFIND; None when the path does not exist."""
        try:
            entries = self._propfind(path, "0")
        except errors.RemoteNotFound:
            return None
        if not entries:
            raise errors.RemoteProtocolError(f"The server sent an empty description of {path}.")
        return entries[0][1]

    def _get_file(self, path: str) -> requests.Response:
        """A streamed GET of a file; a web page in its place (a login page) is refused."""
        response = self._request("GET", path, (200,), stream=True)
        if self._looks_like_html(response):
            response.close()
            raise errors.RemoteProtocolError(
                "The server answered with a web page (probably a login page) instead of the file."
            )
        return response

    def get(self, path: str, max_bytes: int = 16 * 1024 * 1024) -> bytes:
        with self._get_file(path) as response:
            data = bytearray()
            for chunk in self._iter(response):
                data += chunk
                if len(data) > max_bytes:
                    raise errors.RemoteProtocolError(f"{path} on the server is unexpectedly large.")
            self._check_length(response, len(data), path)
            return bytes(data)

    def download(self, path: str, sink: BinaryIO) -> int:
        """Stream a file into ``sink``; returns the number of bytes written."""
        with self._get_file(path) as response:
            total = 0
            for chunk in self._iter(response):
                sink.write(chunk)
                total += len(chunk)
            self._check_length(response, total, path)
            return total

    @staticmethod
    def _iter(response: requests.Response) -> Iterator[bytes]:
        try:
            yield from response.iter_content(chunk_size=256 * 1024)
        except requests.exceptions.RequestException as exc:
            raise errors.RemoteUnreachable(
                "The connection dropped during a download. Sync will try again."
            ) from exc

    @staticmethod
    def _check_length(response: requests.Response, got: int, path: str) -> None:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) != got:
            raise errors.RemoteUnreachable(
                f"The download of {path} was cut short (a network problem). Sync will try again."
            )

    def put(self, path: str, body: bytes | BinaryIO | Iterable[bytes]) -> None:
        self._request("PUT", path, (200, 201, 204), data=body).close()

    def mkcol(self, path: str) -> None:
        """Create a folder; an existing folder is fine."""
        try:
            self._request("MKCOL", path.rstrip("/") + "/", (201,)).close()
        except (errors.RemoteServerError, errors.RemotePreconditionFailed) as exc:
            # 405 (exists) is the common answer; check rather than trust the status.
            entry = self.stat(path.rstrip("/") + "/")
            if entry is None or not entry.is_dir:
                raise exc

    def move(self, source: str, destination: str) -> None:
        """MOVE without overwrite. Callers must not rely on the server honouring 'Overwrite: F'."""
        self._request(
            "MOVE",
            source,
            (201, 204),
            headers={"Destination": self.url(destination), "Overwrite": "F"},
        ).close()

    def delete(self, path: str) -> None:
        with contextlib.suppress(errors.RemoteNotFound):
            self._request("DELETE", path, (200, 204)).close()
