"""The machines a license is activated on, as the server lists them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from licensing.client.errors import ActivationError


@dataclass(frozen=True)
class Machine:
    id: str
    name: str
    activated_at: str
    last_seen: str
    this_machine: bool

    @classmethod
    def from_json(cls, value: Any, this_machine_id: str | None) -> Machine:
        if not isinstance(value, dict):
            raise ActivationError(
                "The license server sent a malformed machine list.", "BAD_RESPONSE"
            )
        try:
            mid, name = str(value["id"]), str(value["name"])
            activated, seen = str(value["activated_at"]), str(value["last_seen"])
        except KeyError:
            raise ActivationError(
                "The license server sent a malformed machine list.", "BAD_RESPONSE"
            ) from None
        return cls(mid, name, activated, seen, this_machine=mid == this_machine_id)


def machines_from_json(values: Any, this_machine_id: str | None) -> list[Machine]:
    if not isinstance(values, list):
        raise ActivationError("The license server sent a malformed machine list.", "BAD_RESPONSE")
    return [Machine.from_json(v, this_machine_id) for v in values]
