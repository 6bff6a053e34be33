"""The licensing client's errors. Every message is written for the buyer to read."""

from __future__ import annotations


class LicenseError(Exception):
    """Base class of every error the licensing client raises on purpose."""


class LicenseKeyError(LicenseError, ValueError):
    """What was typed cannot be a license key."""


class CertificateError(LicenseError):
    """A license file is malformed, not signed by us, or not for this product or machine."""


class LicenseStorageError(LicenseError):
    """The license file could not be read or written."""


class KeyringUnavailable(LicenseError):
    """No working OS keyring (missing, locked, hanging or broken)."""


class ActivationError(LicenseError):
    """The activation server refused, or could not be reached, or answered something invalid.

    ``code`` is the server's stable error code (``NOT_FOUND``, ``SUSPENDED``, ``REFUNDED``,
    ``REVOKED``, ``TOO_MANY_MACHINES``, ``RATE_LIMITED``, ``BAD_REQUEST``) or one of the
    client's own: ``NETWORK`` (no answer), ``BAD_RESPONSE`` (unsigned, stale or garbled).
    """

    def __init__(
        self,
        message: str,
        code: str,
        machines: list[dict] | None = None,
        *,
        server_time: int | None = None,
        license_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.machines = machines or []
        # Set only on a verified (signed) refusal: the server's clock and the license it names.
        self.server_time = server_time
        self.license_id = license_id
