"""The `labdock` console script: parse, dispatch to a subcommand, map failures to exit codes.

Whatever goes wrong, the user gets one line on stderr and an exit code (0 all good, 1 a check
failed, 2 could not run, 130 interrupted), never a traceback; LABDOCK_DEBUG=1 shows the
traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import requests

from labdock.commands import COMMANDS
from labdock.config import connection_help
from labdock.errors import ExitCode, LabdockError, describe_request_error
from labdock.output import error_line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse would print the whole usage block; one line is the contract.
        error_line(f"{message} (see `{self.prog} --help`)")
        raise SystemExit(ExitCode.CANNOT_RUN)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="labdock",
        description="Verify and maintain the Docker lab.",
        # The connection options belong to each command (`labdock catalog --url ...`), but a
        # newcomer reads `labdock --help` first: list them there too, from the same source.
        epilog=f"every command takes these options, after its name:\n\n{connection_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except LabdockError as exc:
        error_line(str(exc))
        return exc.exit_code
    except requests.RequestException as exc:
        error_line(describe_request_error(exc))
        return ExitCode.CANNOT_RUN
    except KeyboardInterrupt:
        error_line("interrupted")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader of our stdout went away (`labdock catalog | head`): not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        error_line(f"{where}{exc.strerror or exc}")
        return ExitCode.CANNOT_RUN
    except Exception as exc:
        if os.environ.get("LABDOCK_DEBUG"):
            raise
        error_line(f"unexpected {type(exc).__name__}: {exc} (LABDOCK_DEBUG=1 shows where)")
        return ExitCode.CANNOT_RUN
