"""The license database (SQLAlchemy 2 ORM; SQLite or PostgreSQL from one URL)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class LicenseStatus(StrEnum):
    """A license's standing; stored as its plain value."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REFUNDED = "refunded"
    REVOKED = "revoked"


ACTIVE = LicenseStatus.ACTIVE
SUSPENDED = LicenseStatus.SUSPENDED
REFUNDED = LicenseStatus.REFUNDED
REVOKED = LicenseStatus.REVOKED


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class License(Base):
    __tablename__ = "licenses"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # SHA-256 of the normalized key: the key itself is shown once (e-mail / CLI), never stored.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    edition: Mapped[str] = mapped_column(String(40))
    entitlements: Mapped[str] = mapped_column(String(200))
    max_machines: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE)
    purchased_at: Mapped[dt.date] = mapped_column(Date)
    updates_until: Mapped[dt.date] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    order_ref: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    payment_ref: Mapped[str | None] = mapped_column(String(200), index=True, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    machines: Mapped[list[Machine]] = relationship(
        back_populates="license", cascade="all, delete-orphan", order_by="Machine.activated_at"
    )

    def entitlement_list(self) -> list[str]:
        return sorted(e for e in self.entitlements.split(",") if e)


class Machine(Base):
    __tablename__ = "machines"
    __table_args__ = (UniqueConstraint("license_id", "fingerprint", name="one_seat_per_machine"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    license_id: Mapped[str] = mapped_column(ForeignKey("licenses.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    activated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    license: Mapped[License] = relationship(back_populates="machines")


class ProcessedEvent(Base):
    """Payment-provider events already handled (providers retry; handling must be idempotent)."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class EarlyRefund(Base):
    """A refund that arrived before its purchase (webhooks come out of order)."""

    __tablename__ = "early_refunds"

    payment_ref: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Trial(Base):
    """One trial per machine fingerprint: asking again returns the first start."""

    __tablename__ = "trials"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[int] = mapped_column(BigInteger)


class RateCounter(Base):
    """Lookups per client address and time window (shared by every server process)."""

    __tablename__ = "rate_counters"

    client: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    hits: Mapped[int] = mapped_column(Integer)
