"""The ``draftsmith`` command: opens the editor, or runs a sub-command."""

from __future__ import annotations

import argparse
import logging
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="draftsmith", description="Draftsmith writing app.")
    parser.add_argument("-d", "--debug", action="store_true", help="log debug messages")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING)
    print("Draftsmith: the editor is not part of this build yet; "
          "`draftsmith-model` builds the local model.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
