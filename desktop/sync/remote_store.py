"""The sync folder on the server.

    format.json                 format version, remote id, default KDF parameters
    keys/passphrase-<gen>.json  data key wrapped by the passphrase key (highest gen wins)
    keys/recovery.json          data key wrapped by the recovery key
    blobs/<sha256>              immutable encrypted document versions, named by their hash
    log/<device>/<seq>          each device's append-only, encrypted change log
    tmp/                        staging: upload here, verify, then MOVE into place

Every write is: PUT to tmp/, check what landed, MOVE to a name that did not exist, check
again. A device only ever writes its own log, so nothing depends on the server honouring
If-Match / Overwrite, and a dropped upload only ever leaves junk in tmp/.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from desktop.sync import errors
from desktop.sync.crypto import KdfParams
from desktop.sync.webdav import WebDavClient

log = logging.getLogger(__name__)

STOPPED = "Sync was stopped before this round ended; it resumes where it stopped."
FORMAT_NAME = "draftsmith-sync"
FORMAT_VERSION = 1
SEQ_DIGITS = 12


@dataclass(frozen=True)
class RemoteFormat:
    remote_id: str
    kdf: KdfParams

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT_NAME,
                "version": FORMAT_VERSION,
                "remote_id": self.remote_id,
                "kdf": self.kdf.to_json(),
            },
            indent=1,
        ).encode()


class RemoteStore:
    def __init__(self, client: WebDavClient, device_id: str = "setup") -> None:
        self.client = client
        self.device_id = device_id

    # --- format ----------------------------------------------------------------------

    def read_format(self) -> RemoteFormat:
        """Read format.json; an empty or foreign folder raises RemoteNotSyncFolder."""
        names = {e.name for e in self.client.list_folder("")}
        if "format.json" not in names:
            raise errors.RemoteNotSyncFolder(
                "The server folder is empty or is not a Draftsmith sync folder "
                "(wrong address, or the drive behind it is not mounted). Nothing was changed."
            )
        raw = self.client.get("format.json", max_bytes=64 * 1024)
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT_NAME:
                raise ValueError("format")
            version = int(data["version"])
            result = RemoteFormat(
                remote_id=str(data["remote_id"]), kdf=KdfParams.from_json(data["kdf"])
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise errors.RemoteProtocolError(
                "The server's format.json is not a Draftsmith sync description (or is a web page)."
            ) from exc
        if version > FORMAT_VERSION:
            raise errors.SyncError(
                "This sync folder was written by a newer Draftsmith. "
                "Update Draftsmith on this device."
            )
        return result

    def create_layout(self, fmt: RemoteFormat) -> None:
        names = {e.name for e in self.client.list_folder("")}
        if "format.json" in names:
            raise errors.SyncError(
                "This server folder already holds a Draftsmith sync folder; join it instead."
            )
        for folder in ("keys", "blobs", "log", "tmp"):
            self.client.mkcol(folder)
        # format.json last: a half-created remote is not mistaken for a working one.
        self.put_new("format.json", fmt.to_bytes(), verify_content=True)

    # --- the one way to write --------------------------------------------------------

    def _tmp_name(self) -> str:
        return f"tmp/{self.device_id}-{secrets.token_hex(8)}.part"

    def put_new(self, path: str, data: bytes, verify_content: bool = True) -> bool:
        """Write a small file that must not exist yet. Returns False if identical bytes were
        already there (a retry after a lost answer); raises if different bytes are there."""
        existing = self._existing_matches(path, data)
        if existing:
            return False
        tmp = self._tmp_name()
        self.client.put(tmp, data)
        landed = self.client.get(tmp, max_bytes=len(data) + 1)
        if landed != data:
            self.client.delete(tmp)
            raise errors.RemoteUnreachable(
                f"The upload of {path} arrived damaged; it will be retried."
            )
        self._move_checked(tmp, path)
        if verify_content and self.client.get(path, max_bytes=len(data) + 1) != data:
            raise errors.RemoteUnreachable(f"{path} did not arrive intact; it will be retried.")
        return True

    def _existing_matches(self, path: str, data: bytes) -> bool:
        if self.client.stat(path) is None:
            return False
        current = self.client.get(path, max_bytes=len(data) + 1)
        if current == data:
            return True
        raise errors.RemotePreconditionFailed(
            f"{path} already exists on the server with other content; refusing to overwrite it."
        )

    def _move_checked(self, tmp: str, path: str) -> None:
        try:
            self.client.move(tmp, path)
        except (
            errors.RemoteUnreachable,
            errors.RemoteServerError,
            errors.RemotePreconditionFailed,
        ):
            # The answer may have been lost after the MOVE happened: look before failing.
            if self.client.stat(tmp) is None and self.client.stat(path) is not None:
                return
            raise

    def blob_sizes(self) -> dict[str, int | None]:
        """Every blob on the server with its listed size: one request (a listing of blobs/)."""
        return {e.name: e.size for e in self.client.list_folder("blobs") if not e.is_dir}

    def put_blob(
        self,
        local: Path,
        digest: str,
        size: int,
        maybe_there: bool = True,
        stop: threading.Event | None = None,
    ) -> None:
        """Upload an encrypted blob file (streamed): PUT to tmp/, check its size, MOVE.

        ``maybe_there``: an earlier attempt may have landed, so look first (a new blob, the
        common case, skips that request). ``stop`` set cuts the upload at its next chunk
        (what reached tmp/ is junk that ``clean_own_tmp`` removes)."""
        path = f"blobs/{digest}"
        if maybe_there:
            entry = self.client.stat(path)
            if entry is not None and entry.size == size:
                return
            if entry is not None:
                self.client.delete(path)  # a damaged copy from an older attempt
        tmp = self._tmp_name()
        with local.open("rb") as fh:
            self.client.put(tmp, fh if stop is None else _Stoppable(fh, stop))
        landed = self.client.stat(tmp)
        if landed is None or landed.size != size:
            self.client.delete(tmp)
            raise errors.RemoteUnreachable("An upload was cut short; it will be retried.")
        try:
            self._move_checked(tmp, path)
        except errors.RemotePreconditionFailed:
            # Already there (same name = same content): fine if it is whole.
            entry = self.client.stat(path)
            if entry is None or entry.size != size:
                raise
            self.client.delete(tmp)

    def fetch_blob(
        self,
        digest: str,
        sink_path: Path,
        size: int | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """Download blobs/<digest> into ``sink_path`` and check its hash (``stop`` set cuts
        it at the next chunk, raising SyncStopped).

        A body can end early without the client noticing (no Content-Length, the connection
        just closes), which looks like damage. So a download that is short of ``size`` or has
        the wrong hash is made a second time: a different result is the network's fault;
        only the same wrong bytes twice are the server's."""
        first = self._download_blob(digest, sink_path, stop)
        if self._whole(first, digest, size):
            return
        copy = sink_path.with_name(sink_path.name + ".again")
        try:
            second = self._download_blob(digest, copy, stop)
            if self._whole(second, digest, size):
                copy.replace(sink_path)
                return
        finally:
            copy.unlink(missing_ok=True)
        got, _ = second
        if second != first:
            raise errors.RemoteUnreachable(
                f"The download of a stored version ({digest[:12]}) was cut short or garbled "
                "on the way, differently each time (a network problem). Sync will try again."
            )
        if size is not None and got < size:
            raise errors.RemoteTampered(
                f"A stored version ({digest[:12]}) is incomplete on the server "
                f"({got} of {size} bytes, twice; damaged)."
            )
        raise errors.RemoteTampered(
            f"A stored version ({digest[:12]}) on the server does not match its hash "
            "(swapped or damaged)."
        )

    @staticmethod
    def _whole(result: tuple[int, str], digest: str, size: int | None) -> bool:
        got, actual = result
        return actual == digest and (size is None or got == size)

    def _download_blob(
        self, digest: str, sink_path: Path, stop: threading.Event | None = None
    ) -> tuple[int, str]:
        hasher = hashlib.sha256()
        with sink_path.open("wb") as fh:

            class _Tee:
                def write(self, chunk: bytes) -> None:
                    if stop is not None and stop.is_set():
                        raise errors.SyncStopped(STOPPED)
                    hasher.update(chunk)
                    fh.write(chunk)

            try:
                got = self.client.download(f"blobs/{digest}", _Tee())  # type: ignore[arg-type]
            except errors.RemoteNotFound as exc:
                raise errors.RemoteTampered(
                    f"A stored version ({digest[:12]}) is missing from the server."
                ) from exc
        return got, hasher.hexdigest()

    # --- keys ------------------------------------------------------------------------

    def passphrase_generations(self) -> list[int]:
        gens = []
        for entry in self.client.list_folder("keys"):
            name = entry.name
            if name.startswith("passphrase-") and name.endswith(".json"):
                middle = name[len("passphrase-") : -len(".json")]
                if middle.isdigit():
                    gens.append(int(middle))
        return sorted(gens)

    def read_json(self, path: str) -> dict[str, object]:
        raw = self.client.get(path, max_bytes=64 * 1024)
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise errors.RemoteProtocolError(f"{path} on the server is not valid JSON.") from exc
        if not isinstance(data, dict):
            raise errors.RemoteProtocolError(f"{path} on the server is not a key file.")
        return data

    # --- logs ------------------------------------------------------------------------

    @staticmethod
    def log_path(device: str, seq: int) -> str:
        return f"log/{device}/{seq:0{SEQ_DIGITS}d}"

    def log_devices(self) -> list[str]:
        return sorted(e.name for e in self.client.list_folder("log") if e.is_dir)

    def log_seqs(self, device: str) -> list[int]:
        return sorted(self.log_sizes(device))

    def log_sizes(self, device: str) -> dict[int, int | None]:
        """Entry number -> size the server lists for it (None if it lists none)."""
        return {
            int(entry.name): entry.size
            for entry in self.client.list_folder(f"log/{device}")
            if not entry.is_dir and entry.name.isdigit()
        }

    def clean_own_tmp(self) -> None:
        """Remove staging leftovers of this device (from dropped uploads). Best effort."""
        try:
            for entry in self.client.list_folder("tmp"):
                if entry.name.startswith(self.device_id + "-"):
                    self.client.delete(f"tmp/{entry.name}")
        except errors.SyncError as exc:
            log.info("could not clean staging folder: %s", exc)


class _Stoppable:
    """A file for an upload body that ends the upload when ``stop`` is set."""

    def __init__(self, fh: BinaryIO, stop: threading.Event) -> None:
        self._fh = fh
        self._stop = stop

    def read(self, size: int = -1) -> bytes:
        if self._stop.is_set():
            raise errors.SyncStopped(STOPPED)
        return self._fh.read(size)

    def __iter__(self) -> Iterator[bytes]:
        # Makes requests treat this as a stream body, like the file itself.
        while chunk := self.read(256 * 1024):
            yield chunk

    def __len__(self) -> int:
        # requests sends Content-Length (not chunked) when it knows the length.
        return os.fstat(self._fh.fileno()).st_size
