"""TP 000, frontend + backend (the correction bot's checks, per app): each image run by us
the way the course runs it (grade/apps.py) and asked over HTTP from a probe beside it."""

from __future__ import annotations

import posixpath
import time
from collections.abc import Mapping
from typing import Any

from labdock.grade import apps
from labdock.grade.context import Context, Lost, poll
from labdock.stackcheck.endpoints import json_contains
from labdock.stackcheck.inspection import WRAPPERS


def http_json(ctx: Context, params: Mapping[str, Any]) -> str:
    """GET path answers 200 with JSON; with `carries: <app>`, that JSON holds what the other
    app's own GET path answers."""
    runs, _ = apps.container_of(ctx, params)
    reply = runs.get(params["app"], params["path"], params["port"])
    body = reply.json()
    if reply.status != 200 or body is None:
        raise Lost(f"GET {params['path']}: {reply.describe()}")
    other = params.get("carries")
    if other:
        if isinstance(runs.containers[other], str):
            raise Lost(f"GET {params['path']} is JSON, but {other} is not running to carry")
        carried = runs.get(other, params["path"], params["port"]).json()
        if carried is None or not json_contains(body, carried):
            raise Lost(f"GET {params['path']} does not carry {other}'s answer: {reply.describe()}")
    return f"GET {params['path']}: {reply.describe()}"


def http_ok(ctx: Context, params: Mapping[str, Any]) -> str:
    runs, _ = apps.container_of(ctx, params)
    reply = runs.get(params["app"], params["path"], params["port"])
    if reply.status != 200:
        raise Lost(f"GET {params['path']}: {reply.describe()}")
    return f"GET {params['path']}: {reply.describe()}"


def image_healthcheck(ctx: Context, params: Mapping[str, Any]) -> str:
    tag = ctx.build(params["context"]).require()
    config = ctx.sandbox.client.images.get(tag).attrs["Config"]
    test = (config.get("Healthcheck") or {}).get("Test") or []
    shown = " ".join(test[1:])[:160] if test else ""
    if not test or test[0] == "NONE":
        raise Lost("the image has no HEALTHCHECK")
    if params["path"] not in shown:
        raise Lost(f"HEALTHCHECK does not call {params['path']}: {shown}")
    return f"HEALTHCHECK {shown}"


def app_pid1(ctx: Context, params: Mapping[str, Any]) -> str:
    """PID 1 of the app's container is the app, not a shell or another wrapper."""
    _, container = apps.container_of(ctx, params)
    pid = str(container.attrs["State"]["Pid"])
    # `top` reads the host's process table: nothing is needed inside the student's image.
    listing = container.top()
    column = listing["Titles"].index("PID")
    command = next((row[-1] for row in listing["Processes"] if row[column] == pid), None)
    if command is None:
        raise Lost("the container is not running")
    program = posixpath.basename(command.split()[0])
    if program in WRAPPERS:
        raise Lost(f"PID 1 is {program}, not the app: {command[:120]}")
    return f"PID 1: {command[:120]}"


def crash_recovers(ctx: Context, params: Mapping[str, Any]) -> str:
    """GET the crash path; Docker must restart the container by itself, then the health path
    answers 200 again and, if the image has a HEALTHCHECK, the container turns healthy."""
    runs, container = apps.container_of(ctx, params)
    before = (container.attrs["RestartCount"], container.attrs["State"]["StartedAt"])
    started = time.monotonic()
    runs.get(params["app"], params["crash_path"], params["port"])
    timeout = float(params.get("timeout", 60))

    def restarted() -> bool:
        container.reload()
        now = (container.attrs["RestartCount"], container.attrs["State"]["StartedAt"])
        return now != before and container.attrs["State"]["Status"] == "running"

    if not poll(restarted, timeout, 0.5):
        raise Lost(f"GET {params['crash_path']}: the app did not end, nothing restarted")
    runs.restarts_caused[params["app"]] = container.attrs["RestartCount"]
    restart_s = time.monotonic() - started

    def answers() -> bool:
        return runs.get(params["app"], params["path"], params["port"], 2).status == 200

    if not poll(answers, timeout, 0.5):
        raise Lost(f"restarted after {restart_s:.0f}s; GET {params['path']} never 200 again")
    if (container.attrs["State"].get("Health") or None) is None:
        return f"restarted after {restart_s:.0f}s, GET {params['path']} 200 (no HEALTHCHECK)"

    def healthy() -> bool:
        container.reload()
        return container.attrs["State"]["Health"]["Status"] == "healthy"

    if not poll(healthy, timeout, 0.5):
        raise Lost(f"restarted after {restart_s:.0f}s; not healthy within {timeout:.0f}s")
    return f"restarted after {restart_s:.0f}s, healthy after {time.monotonic() - started:.0f}s"


CHECKS = (http_json, http_ok, image_healthcheck, app_pid1, crash_recovers)
