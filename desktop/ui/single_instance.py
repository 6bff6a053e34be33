"""Second launch on the same library: hand over to the running window instead of opening a
second one. The first instance listens on a local socket named after the user and library;
a second instance that reaches it asks it to come to the front and exits."""

from __future__ import annotations

import getpass
import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

logger = logging.getLogger(__name__)

ACTIVATE = b"activate\n"


def server_name(library_root: Path) -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some sandboxes
        user = "user"
    key = hashlib.sha256(f"{user}\0{Path(library_root).resolve()}".encode()).hexdigest()[:16]
    return f"draftsmith-{key}"


def ask_running_instance_to_activate(library_root: Path, timeout_ms: int = 500) -> bool:
    """True when a running Draftsmith on this library answered (it will show itself)."""
    socket = QLocalSocket()
    socket.connectToServer(server_name(library_root))
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(ACTIVATE)
    socket.flush()
    answered = socket.waitForReadyRead(timeout_ms)
    reply = bytes(socket.readAll().data()) if answered else b""
    socket.disconnectFromServer()
    return reply.startswith(b"ok")


class InstanceServer(QObject):
    activate_requested = Signal()

    def __init__(self, library_root: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.server = QLocalServer(self)
        name = server_name(library_root)
        if not self.server.listen(name):
            QLocalServer.removeServer(name)  # left behind by a crash
            if not self.server.listen(name):
                logger.info("Second-instance server unavailable: %s", self.server.errorString())
        self.server.newConnection.connect(self._on_connection)

    def is_listening(self) -> bool:
        return self.server.isListening()

    def _on_connection(self) -> None:
        socket = self.server.nextPendingConnection()
        if socket is None:
            return

        def read() -> None:
            if bytes(socket.readAll().data()).startswith(ACTIVATE.strip()):
                socket.write(b"ok\n")
                socket.flush()
                self.activate_requested.emit()

        socket.readyRead.connect(read)
        socket.disconnected.connect(socket.deleteLater)

    def close(self) -> None:
        self.server.close()
