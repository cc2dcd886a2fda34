"""TP 003, simple-api: the API and its database started from the student's compose file
(grade/stack.py), asked over HTTP, `psql` run in the database's container, its volume read
from the compose model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import docker.errors

from labdock.grade import apps, stack
from labdock.grade.context import Context, Lost, poll
from labdock.stackcheck.endpoints import json_contains


def stack_http_json(ctx: Context, params: Mapping[str, Any]) -> str:
    """GET path of the role's service answers 200 with JSON holding `expect`."""
    run = stack.stack_run(ctx, params)
    run.container(params["role"])
    path, expect = params["path"], params["expect"]

    def accepted(reply: apps.Reply) -> bool:
        body = reply.json()
        return reply.status == 200 and body is not None and json_contains(body, expect)

    reply = stack.ask_until(
        run, params["role"], params["port"], path, accepted, params["ready_timeout"]
    )
    shown = f"GET {path} on port {params['port']}: {reply.describe()}"
    if accepted(reply):
        return shown
    if reply.status is None and "refused" in reply.body:
        shown += " (the container runs: does the app listen on 127.0.0.1 only, not 0.0.0.0?)"
    raise Lost(shown)


def service_exec(ctx: Context, params: Mapping[str, Any]) -> str:
    """`docker compose exec <service> COMMAND` exits 0 and prints `expect` (asked until the
    timeout: a database initialises its data directory on its first start)."""
    run = stack.stack_run(ctx, params)
    container = run.container(params["role"])
    last: list[Any] = [None, ""]

    def attempt() -> bool:
        try:
            code, out = container.exec_run(params["command"])
        except docker.errors.APIError as exc:
            code, out = None, str(exc.explanation or exc).encode()
        last[:] = [code, " ".join(out.decode(errors="replace").split())[:160]]
        return code == 0 and params["expect"] in last[1]

    passed = poll(attempt, params["ready_timeout"], 1.0)
    shown = " ".join(params["command"])
    said = f"exec {run.service(params['role'])} {shown}: exit {last[0]}, {last[1]}"
    if not passed:
        raise Lost(said)
    return said


def named_volume(ctx: Context, params: Mapping[str, Any]) -> str:
    """The role's service keeps `path` (or a folder above it) in a named volume."""
    run = stack.stack_run(ctx, params)
    model = run.require_model()
    service = run.require_service(params["role"])
    mounts = model["services"][service].get("volumes") or []
    path = params["path"].rstrip("/")
    for mount in mounts:
        target = str(mount.get("target", "")).rstrip("/")
        if mount.get("type") == "volume" and mount.get("source") and _covers(target, path):
            return f"{service}: volume {mount['source']} on {mount['target']}"
    shown = ", ".join(f"{m.get('type')} {m.get('source', '')}:{m.get('target')}" for m in mounts)
    raise Lost(f"{service}: {path} is not in a named volume ({shown or 'no volume'})")


def _covers(mount_target: str, path: str) -> bool:
    return path == mount_target or path.startswith(f"{mount_target}/")


CHECKS = (stack_http_json, service_exec, named_volume)
