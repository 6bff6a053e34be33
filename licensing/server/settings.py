"""The license server's settings, read from the environment (one place for each)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///licenses.db"
    signing_key_path: Path | None = None
    signing_kid: str = "ds-2026-1"
    public_url: str = "https://licenses.draftsmith.app"
    # new licenses (from the payment webhook)
    default_edition: str = "standard"
    default_entitlements: tuple[str, ...] = ("ai", "sync")
    default_max_machines: int = 3
    updates_days: int = 365
    refresh_days: int = 30
    # Stripe
    stripe_webhook_secret: str = ""
    webhook_tolerance_s: int = 300
    # e-mail
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_starttls: bool = False
    mail_from: str = "Draftsmith <licenses@draftsmith.app>"
    # rate limits on key lookups, per client address
    lookups_per_minute: int = 60
    failed_lookups_per_window: int = 10
    failed_lookup_window_s: int = 900

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        key_path = env("DRAFTSMITH_LICENSE_SIGNING_KEY")
        return cls(
            database_url=env("DRAFTSMITH_LICENSE_DB", cls.database_url),
            signing_key_path=Path(key_path) if key_path else None,
            signing_kid=env("DRAFTSMITH_LICENSE_KID", cls.signing_kid),
            public_url=env("DRAFTSMITH_LICENSE_PUBLIC_URL", cls.public_url),
            default_edition=env("DRAFTSMITH_LICENSE_EDITION", cls.default_edition),
            default_max_machines=_int("DRAFTSMITH_LICENSE_SEATS", cls.default_max_machines),
            updates_days=_int("DRAFTSMITH_LICENSE_UPDATES_DAYS", cls.updates_days),
            stripe_webhook_secret=env("DRAFTSMITH_STRIPE_WEBHOOK_SECRET", ""),
            smtp_host=env("DRAFTSMITH_SMTP_HOST", cls.smtp_host),
            smtp_port=_int("DRAFTSMITH_SMTP_PORT", cls.smtp_port),
            smtp_user=env("DRAFTSMITH_SMTP_USER", ""),
            smtp_password=env("DRAFTSMITH_SMTP_PASSWORD", ""),
            smtp_starttls=env("DRAFTSMITH_SMTP_STARTTLS", "") == "1",
            mail_from=env("DRAFTSMITH_MAIL_FROM", cls.mail_from),
            lookups_per_minute=_int("DRAFTSMITH_LOOKUPS_PER_MINUTE", cls.lookups_per_minute),
            failed_lookups_per_window=_int(
                "DRAFTSMITH_FAILED_LOOKUPS", cls.failed_lookups_per_window
            ),
        )
