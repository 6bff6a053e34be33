"""``sys.excepthook``: save everything dirty, write the journal, then show the error with its
details (copyable) instead of vanishing."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from types import TracebackType

logger = logging.getLogger(__name__)


def install_excepthook(
    save_everything: Callable[[], None], show_error: Callable[[str, str, str], None]
) -> Callable[..., None]:
    handling = False

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        nonlocal handling
        details = "".join(traceback.format_exception(kind, value, tb))
        logger.critical("Unexpected error:\n%s", details)
        if handling:  # an error while handling an error: don't loop
            return
        handling = True
        try:
            try:
                save_everything()
                saved = "Your documents were saved."
            except Exception:
                logger.exception("Emergency save failed")
                saved = (
                    "Draftsmith couldn't save everything; your text is in the recovery "
                    "journal and will be offered next time."
                )
            show_error(
                "Something went wrong",
                f"Draftsmith hit an unexpected error. {saved} You can keep working; "
                "if it happens again, please send the details below to support.",
                details,
            )
        finally:
            handling = False

    sys.excepthook = hook
    return hook
