"""Mini-project 004, student_list: the API and the PHP page started from the student's
compose file (grade/stack.py), the API asked with the credentials the compose file gives
(and without them), the page's button pressed, and the API image read for baked secrets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from labdock.grade import apps, stack
from labdock.grade.checks.repository import MAX_TEXT_BYTES
from labdock.grade.context import Context, Lost, kept


def basic_auth_api(ctx: Context, params: Mapping[str, Any]) -> str:
    """GET path with the credentials the compose file gives answers 200 with JSON holding
    `key`; with no credentials, and with a wrong password, 401."""
    run = stack.stack_run(ctx, params)
    run.container(params["role"])
    credentials = _credentials(run, params)
    if credentials is None:
        raise Lost(f"{run.compose_file} gives no {' / '.join(params['credentials']['keys'])}")
    listing = _student_list(ctx, run, params, credentials)
    role, port, path = params["role"], params["port"], params["path"]
    anonymous = run.get(role, port, path)
    wrong = run.get(role, port, path, auth=(credentials[0], f"{credentials[1]}-wrong"))
    if anonymous.status != 401:
        raise Lost(f"without credentials: {anonymous.describe()}")
    if wrong.status != 401:
        raise Lost(f"with a wrong password: {wrong.describe()}")
    return f"{len(listing)} students with the credentials; 401 without and with a wrong one"


def no_baked_credentials(ctx: Context, params: Mapping[str, Any]) -> str:
    """The password the compose file gives is neither a value in the image's configuration
    (ENV, labels) nor a string literal in a file of its build context (a default such as
    `os.environ.get("PASSWORD", "python")`): it comes from configuration only."""
    run = stack.stack_run(ctx, params)
    credentials = _credentials(run, params) if run.model else None
    if credentials is None:
        raise Lost("the compose file gives no credentials: they can only be in the image")
    password = credentials[1]
    tag = ctx.build(params["context"], run.compose_file).require()
    config = ctx.sandbox.client.images.get(tag).attrs["Config"]
    settings = [entry.split("=", 1) for entry in config.get("Env") or [] if "=" in entry]
    settings += list((config.get("Labels") or {}).items())
    baked = [name for name, value in settings if value == password]
    if baked:
        raise Lost(f"the image's configuration sets the password: {', '.join(baked)}")
    # Quoted, so that the password `python` is not found in `FROM python-course`.
    literal = re.compile(rf"([\"']){re.escape(password)}\1")
    context = ctx.root / params["context"]
    for path in sorted(p for p in context.rglob("*") if p.is_file() and ".git" not in p.parts):
        text = path.read_bytes()[:MAX_TEXT_BYTES].decode(errors="replace")
        if literal.search(text):
            raise Lost(f"{path.relative_to(ctx.root)} holds the password as a literal")
    return f"the password is in no ENV, label or file of {params['context']}/"


def page_lists(ctx: Context, params: Mapping[str, Any]) -> str:
    """The page, its button pressed, names every student the API lists."""
    run = stack.stack_run(ctx, params)
    run.container(params["page_role"])
    credentials = _credentials(run, params)
    try:
        if credentials is None:
            raise Lost("the compose file gives the page no credentials")
        listing = _student_list(ctx, run, params, credentials)
    except Lost as why:
        raise Lost(f"no student list to show: {why}") from None

    def accepted(reply: apps.Reply) -> bool:
        return reply.status == 200 and all(name in reply.body for name in listing)

    page = params["page"]
    reply = stack.ask_until(
        run,
        params["page_role"],
        page["port"],
        page["path"],
        accepted,
        ctx.sandbox.timeouts.step,
        form=page["form"],
    )
    if not accepted(reply):
        missing = [name for name in listing if name not in reply.body]
        # The page's words after its tags are gone: its end is where a list would be.
        text = " ".join(re.sub(r"<[^>]*>", " ", reply.body).split())[-120:]
        shown = f"HTTP {reply.status}: …{text}" if reply.status else reply.describe()
        raise Lost(f"the page does not list {', '.join(missing)}: {shown}")
    return f"the page lists {', '.join(listing)}"


def _credentials(run: stack.StackRun, params: Mapping[str, Any]) -> tuple[str, str] | None:
    """The user and password the compose file gives the first role that has both keys."""
    user_key, password_key = params["credentials"]["keys"]
    for role in params["credentials"]["roles"]:
        env = run.environment(role)
        if env.get(user_key) and env.get(password_key):
            return str(env[user_key]), str(env[password_key])
    return None


def _student_list(
    ctx: Context, run: stack.StackRun, params: Mapping[str, Any], credentials: tuple[str, str]
) -> list[str]:
    """The names the API lists with the credentials (asked once); Lost saying why not."""

    def ask() -> list[str] | Lost:
        key = params["key"]
        try:
            run.container(params["role"])
        except Lost as why:
            return why

        def accepted(reply: apps.Reply) -> bool:
            body = reply.json()
            return (
                reply.status == 200 and isinstance(body, dict) and isinstance(body.get(key), dict)
            )

        reply = stack.ask_until(
            run,
            params["role"],
            params["port"],
            params["path"],
            accepted,
            params["ready_timeout"],
            auth=credentials,
        )
        if not accepted(reply):
            return Lost(f"with the compose file's credentials: {reply.describe()}")
        return sorted(reply.json()[key])

    return kept(ctx.once("student_list", ask))


CHECKS = (basic_auth_api, no_baked_credentials, page_lists)
