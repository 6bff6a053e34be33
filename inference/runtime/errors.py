"""Errors the runtime raises, each with a message a writer can read."""

from __future__ import annotations


class RuntimeErrorBase(Exception):
    """Base of every error the generation runtime raises on purpose."""


class ModelUnavailableError(RuntimeErrorBase):
    """The model folder is missing, incomplete or corrupt; rebuilding it fixes this."""


class DeviceUnavailableError(RuntimeErrorBase):
    """The device the user forced (e.g. ``cuda``) cannot run the model here."""


class InvalidRequestError(RuntimeErrorBase, ValueError):
    """A generation request or setting that cannot be honoured (empty text, bad values...)."""
