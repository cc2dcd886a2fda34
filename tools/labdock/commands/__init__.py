"""The labdock subcommands. A subcommand is one module here with an `add_parser` function
that adds its parser and sets `run` (args -> exit code); register it in COMMANDS."""

from __future__ import annotations

import argparse
from typing import Protocol

from labdock.commands import (
    accounts,
    catalog,
    demo,
    grade,
    health,
    prune,
    room,
    tag,
    usage,
    verify,
)


class Command(Protocol):
    def add_parser(self, subparsers: argparse._SubParsersAction) -> None: ...


COMMANDS: tuple[Command, ...] = (
    catalog,
    health,
    verify,
    usage,
    tag,
    prune,
    accounts,
    room,
    demo,
    grade,
)
