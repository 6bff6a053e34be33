"""The ``draftsmith`` command: opens the editor, or runs a sub-command."""

from __future__ import annotations

import argparse
import logging
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="draftsmith", description="Draftsmith writing app.")
    parser.add_argument("-d", "--debug", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    from inference.runtime.cli import register_commands as register_runtime_commands

    register_runtime_commands(subparsers)  # generate, devices
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING)
    from inference.runtime.cli import dispatch as dispatch_runtime_command

    exit_code = dispatch_runtime_command(args)
    if exit_code is not None:
        return exit_code
    print("Draftsmith: the editor is not part of this build yet; "
          "`draftsmith-model` builds the local model.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
