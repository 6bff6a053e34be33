"""The ``draftsmith`` command: opens the editor, or runs a sub-command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

HEADLESS_HELP = """Draftsmith needs a display and none was found (DISPLAY, WAYLAND_DISPLAY unset).
Run it on a desktop, or without a screen:
  QT_QPA_PLATFORM=offscreen draftsmith      (runs invisibly, e.g. for scripts)
  xvfb-run -a draftsmith                    (a virtual X display; Debian package xvfb)"""

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def has_display() -> bool:
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def setup_logging(debug: bool) -> None:
    """Warnings to stderr; with --debug, debug messages to stderr and to the log file."""
    level = logging.DEBUG if debug else logging.WARNING
    logging.basicConfig(level=level, format=LOG_FORMAT)
    if debug:
        from desktop import paths

        try:
            paths.log_dir().mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(paths.log_dir() / paths.LOG_FILE, encoding="utf-8")
            handler.setFormatter(logging.Formatter(LOG_FORMAT))
            logging.getLogger().addHandler(handler)
        except OSError as exc:
            logging.getLogger(__name__).warning("No log file: %s", exc)


def launch_editor(args: argparse.Namespace) -> int:
    if not has_display():
        print(HEADLESS_HELP, file=sys.stderr)
        return 2
    from desktop.ui import pyside_import_check
    from desktop.ui.startup_objects import pause_collection

    pause_collection()  # until the window is built (``open_window``)
    pyside_import_check.install()  # before the editor's ~250 modules import
    from desktop.ui.app import run  # Qt is imported only when the editor really starts

    return run(sys.argv[:1], library_path=args.library)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="draftsmith", description="Draftsmith writing app.")
    parser.add_argument("-d", "--debug", action="store_true", help="log debug messages")
    parser.add_argument(
        "--library",
        type=Path,
        default=None,
        help="open this library folder instead of the one in settings",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation (model, license check, window, documents) and exit",
    )
    parser.add_argument(  # the window, closing, hands a big backup to this (see backups.py)
        "--finish-backup", nargs=2, metavar=("LIBRARY", "DESTINATION"),
        help=argparse.SUPPRESS,
    )  # fmt: skip
    parser.add_argument(  # the editor runs its AI model in this process (see model_process.py)
        "--model-process", action="store_true", help=argparse.SUPPRESS
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    from inference.runtime.cli import register_commands as register_runtime_commands

    register_runtime_commands(subparsers)  # generate, devices
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.debug)
    if args.finish_backup:
        from desktop.library.backups import main as finish_backup

        return finish_backup(args.finish_backup)
    if args.model_process:
        from desktop.ui.model_process import serve

        return serve()
    if args.self_test:
        from desktop.self_test import run_self_test

        return run_self_test()
    from inference.runtime.cli import dispatch as dispatch_runtime_command

    exit_code = dispatch_runtime_command(args)
    if exit_code is not None:
        return exit_code
    if getattr(args, "command", None) is not None:
        parser.print_help()
        return 2
    return launch_editor(args)


if __name__ == "__main__":
    sys.exit(main())
