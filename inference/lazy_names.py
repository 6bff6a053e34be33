"""A package whose public names load on first use (PEP 562): importing the package stays
cheap when some of its modules are slow to import (numpy and onnxruntime for
``inference.runtime``; the WebDAV client and the crypto for ``desktop.sync``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(
    package_globals: dict[str, Any], homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The package's ``__getattr__`` and ``__dir__``: each name in ``homes`` is read from
    the submodule named there the first time it is asked for, then kept in the package."""
    package = package_globals["__name__"]

    def get(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home}"), name)
        package_globals[name] = value  # later lookups skip this function
        return value

    def names() -> list[str]:
        return sorted(set(package_globals) | set(homes))

    return get, names
