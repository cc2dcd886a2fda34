"""The checks a grid can name (`check: <name>` with `with: {parameters}`), a module per
course: each check takes the submission's context and its parameters and returns one line of
evidence when the criterion is earned, or raises context.Lost with the line saying why not.

repository, registry: exam 001's repository and registry points (registry also 004's);
socket_chat: 001's POC; images: the image builds (000, 002, 003, 004); frontend_backend: 000;
website: 002; stacks: a compose file's system started (003, 004); simple_api: 003;
student_list: 004."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from labdock.grade.checks import (
    frontend_backend,
    images,
    registry,
    repository,
    simple_api,
    socket_chat,
    stacks,
    student_list,
    website,
)
from labdock.grade.context import Context

Check = Callable[[Context, Mapping[str, Any]], str]

CHECKS: dict[str, Check] = {
    check.__name__: check
    for module in (
        repository,
        registry,
        socket_chat,
        images,
        frontend_backend,
        website,
        stacks,
        simple_api,
        student_list,
    )
    for check in module.CHECKS
}
