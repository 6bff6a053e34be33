"""The background license check: at start-up and then daily, off the GUI thread.

It renews an online-activated certificate when due (``licensing.client.refresh_if_due``),
which is how a refund or revocation reaches this machine. It is quiet: no dialog, no error
when the server can't be reached (the certificate keeps working until its offline horizon).
Listeners learn the status afterwards through ``checked``; AI and sync ask the one feature
gate (``licensing.client.feature_status``) on every use, so they stop at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from licensing.client import (
    ActivationClient,
    LicenseStatus,
    invalidate_status_cache,
    license_status,
    refresh_if_due,
)

log = logging.getLogger(__name__)

DAY_MS = 24 * 3600 * 1000
START_DELAY_MS = 5_000  # let the window paint and the documents open first


class LicenseRefresher(QObject):
    checked = Signal(object)  # the LicenseStatus after a check

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        client_factory: Callable[[], ActivationClient] = ActivationClient,
        interval_ms: int = DAY_MS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(parent)
        self.client_factory = client_factory
        self.clock = clock
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.check_now)
        self._worker: threading.Thread | None = None

    def start(self, delay_ms: int = START_DELAY_MS) -> None:
        """Check once soon, then every ``interval_ms``."""
        self.timer.start()
        QTimer.singleShot(delay_ms, self.check_now)

    def stop(self) -> None:
        self.timer.stop()

    def busy(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def check_now(self) -> None:
        if self.busy():
            return
        self._worker = threading.Thread(target=self._check, name="license-refresh", daemon=True)
        self._worker.start()

    def _check(self) -> None:
        try:
            renewed = refresh_if_due(self.client_factory(), now=self.clock())
            if renewed is not None:
                log.info("license refreshed (license %s)", renewed.license_id)
            invalidate_status_cache()
            status: LicenseStatus = license_status()
        except Exception:  # a background check must never disturb the writer
            log.exception("background license check failed")
            return
        self.checked.emit(status)


def start_license_refresh(parent: QObject) -> LicenseRefresher:
    """Create the app's refresher (owned by ``parent``, usually the main window) and start it."""
    refresher = LicenseRefresher(parent)
    refresher.start()
    return refresher
