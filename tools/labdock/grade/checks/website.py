"""TP 002, website: the image run by us (grade/apps.py) with its data volume, a query
submitted through its form with no internet, and the data file read back from the
container, then from a new container on the same volume."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import docker.errors
from docker.models.containers import Container

from labdock.grade import apps
from labdock.grade.checks.repository import MAX_TEXT_BYTES
from labdock.grade.context import Context, Lost


def query_answers(ctx: Context, params: Mapping[str, Any]) -> str:
    """The form's answer to a query is a page (200), with no internet on the network."""
    runs, _ = apps.container_of(ctx, params)
    reply = _query(ctx, runs, params)
    shown = f"query for {params['query']['value']} offline: {reply.describe()}"
    if reply.status != 200:
        raise Lost(shown)
    return shown


def query_recorded(ctx: Context, params: Mapping[str, Any]) -> str:
    runs, container = apps.container_of(ctx, params)
    reply = _query(ctx, runs, params)
    return _file_mentions(container, params, f"after the query ({reply.describe()[:60]})")


def query_survives_recreate(ctx: Context, params: Mapping[str, Any]) -> str:
    """After a query, `docker rm -f` and a new container on the same volumes: the data file
    still holds the query."""
    runs, _ = apps.container_of(ctx, params)
    _query(ctx, runs, params)
    replaced = runs.replace(params["app"])
    runs.wait_ready(params["app"], params["ready_path"], params["port"])
    volumes = ", ".join(sorted(params.get("volumes") or {})) or "no volume"
    return _file_mentions(replaced, params, f"after docker rm -f and a new container ({volumes})")


def _query(ctx: Context, runs: apps.RunningApps, params: Mapping[str, Any]) -> apps.Reply:
    """Submit the form once per submission: every field name a student may have chosen."""
    query = params["query"]
    form = urlencode(dict.fromkeys(query["fields"], query["value"]))

    def submit() -> apps.Reply:
        # The page may fetch from the internet and wait for its own timeout: be patient.
        reply = runs.get(params["app"], query["path"], params["port"], timeout=30, form=form)
        if reply.status == 405:
            reply = runs.get(params["app"], f"{query['path']}?{form}", params["port"], timeout=30)
        return reply

    return ctx.once(f"query:{params['app']}", submit)


def _file_mentions(container: Container, params: Mapping[str, Any], when: str) -> str:
    path, value = params["file"], params["query"]["value"]
    try:
        stream, _ = container.get_archive(path)
    except docker.errors.NotFound:
        raise Lost(f"{when}: no {path} in the container") from None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        member = archive.next()
        handle = archive.extractfile(member) if member is not None else None
        text = handle.read(MAX_TEXT_BYTES).decode(errors="replace") if handle else ""
    shown = " ".join(text.split())[:120]
    if value not in text:
        raise Lost(f"{when}: {path} does not mention {value}: {shown}")
    return f"{when}: {path} holds {shown}"


CHECKS = (query_answers, query_recorded, query_survives_recreate)
