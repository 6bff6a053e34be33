"""What the app uses: certificate verification, keyring storage, activation, trial.

The rest of the app asks one question::

    from licensing.client import feature_status
    status = feature_status("ai")      # or "sync"
    if not status.allowed:
        show(status.reason)            # plain words, ready for the UI

``feature_status`` and ``license_status`` never touch the network and are cached for a
minute (call ``invalidate_status_cache`` after changing the license). The editor, the
writer's files and export never depend on licensing.
"""

from __future__ import annotations

from licensing.client.activation import (
    Activation,
    ActivationClient,
    import_license,
    offline_request,
    refresh_if_due,
)
from licensing.client.certificate import Certificate
from licensing.client.errors import (
    ActivationError,
    CertificateError,
    KeyringUnavailable,
    LicenseError,
    LicenseKeyError,
    LicenseStorageError,
)
from licensing.client.license_key import normalize_key
from licensing.client.machines import Machine
from licensing.client.status import (
    FEATURES,
    FeatureStatus,
    LicenseStatus,
    feature_status,
    invalidate_status_cache,
    license_status,
    prefetch_license_status,
)

__all__ = [
    "FEATURES",
    "Activation",
    "ActivationClient",
    "ActivationError",
    "Certificate",
    "CertificateError",
    "FeatureStatus",
    "KeyringUnavailable",
    "LicenseError",
    "LicenseKeyError",
    "LicenseStatus",
    "LicenseStorageError",
    "Machine",
    "feature_status",
    "import_license",
    "invalidate_status_cache",
    "license_status",
    "normalize_key",
    "offline_request",
    "prefetch_license_status",
    "refresh_if_due",
]
