"""The checks a grid can name: `check: <name>` with `with: {parameters}`. Each takes the
submission's context and its parameters and answers (passed, one line of evidence)."""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import subprocess
import tarfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import docker.errors
import yaml
from docker.models.containers import Container

from labdock.errors import RegistryError, RegistryNotFound
from labdock.grade import apps, chat, stack
from labdock.grade.context import Context, Outcome, poll
from labdock.registry import DOCKER_MANIFEST, MANIFEST_TYPES, OCI_MANIFEST
from labdock.stackcheck.discovery import image_name
from labdock.stackcheck.endpoints import json_contains
from labdock.stackcheck.inspection import WRAPPERS

Check = Callable[[Context, Mapping[str, Any]], Outcome]
# A version tag: 1, 1.0, v2.3.1, 1.0-rc1 (not `latest`, not a bare word).
VERSION_TAG = re.compile(r"^v?\d+(\.\d+)*([-+_.][0-9A-Za-z.]+)?$")
MAX_TEXT_BYTES = 1 << 20


# -- repository ------------------------------------------------------------------------------


def file_present(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    path = ctx.root / params["path"]
    if not path.is_file():
        return False, f"{params['path']} is missing"
    if path.stat().st_size == 0:
        return False, f"{params['path']} is empty"
    return True, f"{params['path']} delivered ({path.stat().st_size} bytes)"


def text_matches(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """Every named pattern (a case-insensitive regex) occurs in the file, at least `times`
    times when the pattern is given as {pattern, times}."""
    path = ctx.root / params["path"]
    if not path.is_file():
        return False, f"{params['path']} is missing"
    text = path.read_bytes()[:MAX_TEXT_BYTES].decode(errors="replace")
    found: list[str] = []
    missing: list[str] = []
    for name, spec in params["patterns"].items():
        pattern, times = (spec, 1) if isinstance(spec, str) else (spec["pattern"], spec["times"])
        matches = [m.group(0).strip() for m in re.finditer(pattern, text, re.IGNORECASE)]
        if len(matches) < times:
            missing.append(name)
        found.extend(matches[:times])
    if missing:
        return False, f"{params['path']} lacks: {', '.join(missing)}"
    return True, "; ".join(f"`{line}`" for line in found)


def compose_builds(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """The compose file builds an image from each of the given folders."""
    model = ctx.compose_model(params["compose_file"])
    if isinstance(model, str):
        return False, model
    found = {context: ctx.service_for_context(model, context) for context in params["contexts"]}
    missing = [context for context, service in found.items() if service is None]
    if missing:
        return False, f"{params['compose_file']} builds nothing from {', '.join(missing)}/"
    return True, ", ".join(f"{service} builds {context}/" for context, service in found.items())


def registry_compose(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """Another compose file of the repository runs every repository from a registry image,
    with no build at all."""
    build_file = ctx.compose_file(params["compose_file"])
    repositories = list(params["repositories"])
    reasons = []
    for path in sorted(ctx.root.glob("*.y*ml")) + sorted(ctx.root.glob("*/*.y*ml")):
        if path == build_file or ".git" in path.parts:
            continue
        services = _compose_services(path)
        if not services:
            continue
        relative = path.relative_to(ctx.root)
        builders = [name for name, spec in services.items() if "build" in spec]
        images = [str(spec.get("image") or "") for spec in services.values()]
        missing = [r for r in repositories if not any(_image_is(image, r) for image in images)]
        if builders:
            reasons.append(f"{relative} builds {', '.join(builders)}")
        elif missing:
            reasons.append(f"{relative} has no registry image for {', '.join(missing)}")
        else:
            return True, f"{relative}: {', '.join(images)}, no build"
    if not reasons:
        return False, "no compose file besides the build one"
    return False, "; ".join(reasons)


def git_committed(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """A git repository whose last commit holds the delivered files as they are on disk."""
    present = [p for p in params["paths"] if (ctx.root / p).is_file()]
    committed = _committed_blobs(ctx.root, present)
    if isinstance(committed, str):
        return False, committed
    missing = [p for p in present if p not in committed]
    changed = [p for p in present if p in committed and committed[p] != _blob_id(ctx.root / p)]
    if missing or changed:
        parts = []
        if missing:
            parts.append(f"not committed: {', '.join(missing)}")
        if changed:
            parts.append(f"changed since the last commit: {', '.join(changed)}")
        return False, "; ".join(parts)
    return True, f"git repository, {len(present)} delivered files committed"


# -- registry --------------------------------------------------------------------------------


def registry_repository(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """The repository has tags; with `catalog: true`, the registry's _catalog lists it too."""
    repository, tags = _pushed(ctx, params["repository"])
    if isinstance(tags, str):
        return False, tags
    if params.get("catalog"):
        assert ctx.registry is not None  # _pushed found tags through it
        try:
            listed = repository in ctx.registry.catalog()
        except RegistryError as exc:
            return False, f"registry _catalog: {exc}"
        if not listed:
            return False, f"{repository} has tags but _catalog does not list it"
        return True, f"_catalog lists {repository}: {', '.join(sorted(tags))}"
    return True, f"{repository}: {', '.join(sorted(tags))}"


def registry_tags(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    repository, tags = _pushed(ctx, params["repository"])
    if isinstance(tags, str):
        return False, tags
    versions = sorted(t for t in tags if VERSION_TAG.match(t))
    if "latest" not in tags:
        return False, f"{repository} has no `latest` tag ({', '.join(sorted(tags))})"
    if not versions:
        return False, f"{repository} has no version tag, only {', '.join(sorted(tags))}"
    return True, f"{repository}: latest and {', '.join(versions)}"


def hub_url_label(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """The image built from the folder's Dockerfile (as the compose file builds it) carries
    `hub_url` naming the student's repository; if it does not build, the pushed image's."""
    repository, _ = _pushed(ctx, params["repository"])
    built = ctx.build(params["context"], params.get("compose_file"))
    if built.tag is not None:
        labels = ctx.sandbox.client.images.get(built.tag).labels or {}
        source = f"image built from {params['context']}/Dockerfile"
    else:
        pushed = _pushed_labels(ctx, repository)
        if isinstance(pushed, str):
            return False, f"{built.error}; {pushed}"
        labels, source = pushed, f"{repository}:latest in the registry ({built.error})"
    value = labels.get("hub_url")
    if not value:
        return False, f"no hub_url label on the {source}"
    if repository.lower() not in value.lower():
        return False, f"hub_url={value} does not name {repository}"
    return True, f"hub_url={value}"


# -- socket chat POC -------------------------------------------------------------------------


def chat_started(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    return chat.chat_run(ctx, params).started


def chat_terminal(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    return chat.chat_run(ctx, params).terminals[params["side"]]


def chat_hello(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    return chat.chat_run(ctx, params).hello[params["typed_on"]]


def chat_bye(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    return chat.chat_run(ctx, params).bye


# -- single-image HTTP apps (TP 000) ---------------------------------------------------------


def image_builds(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    built = ctx.build(params["context"])
    if built.tag is None:
        return False, str(built.error)
    image = ctx.sandbox.client.images.get(built.tag)
    return True, f"{params['context']}/ builds ({image.attrs['Size'] / 1e6:.0f} MB)"


def http_json(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """GET path answers 200 with JSON; with `carries: <app>`, that JSON holds what the other
    app's own GET path answers."""
    runs, container = apps.container_of(ctx, params)
    if isinstance(container, str):
        return False, container
    reply = runs.get(params["app"], params["path"], params["port"])
    body = reply.json()
    if reply.status != 200 or body is None:
        return False, f"GET {params['path']}: {reply.describe()}"
    other = params.get("carries")
    if other:
        if isinstance(runs.containers[other], str):
            return False, f"GET {params['path']} is JSON, but {other} is not running to carry"
        carried = runs.get(other, params["path"], params["port"]).json()
        if carried is None or not json_contains(body, carried):
            return (
                False,
                f"GET {params['path']} does not carry {other}'s answer: {reply.describe()}",
            )
    return True, f"GET {params['path']}: {reply.describe()}"


def http_ok(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    runs, container = apps.container_of(ctx, params)
    if isinstance(container, str):
        return False, container
    reply = runs.get(params["app"], params["path"], params["port"])
    return reply.status == 200, f"GET {params['path']}: {reply.describe()}"


def image_healthcheck(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    built = ctx.build(params["context"])
    if built.tag is None:
        return False, str(built.error)
    test = (ctx.sandbox.client.images.get(built.tag).attrs["Config"].get("Healthcheck") or {}).get(
        "Test"
    ) or []
    shown = " ".join(test[1:])[:160] if test else ""
    if not test or test[0] == "NONE":
        return False, "the image has no HEALTHCHECK"
    if params["path"] not in shown:
        return False, f"HEALTHCHECK does not call {params['path']}: {shown}"
    return True, f"HEALTHCHECK {shown}"


def app_pid1(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """PID 1 of the app's container is the app, not a shell or another wrapper."""
    _, container = apps.container_of(ctx, params)
    if isinstance(container, str):
        return False, container
    container.reload()
    pid = str(container.attrs["State"]["Pid"])
    # `top` reads the host's process table: nothing is needed inside the student's image.
    listing = container.top()
    column = listing["Titles"].index("PID")
    command = next((row[-1] for row in listing["Processes"] if row[column] == pid), None)
    if command is None:
        return False, "the container is not running"
    program = posixpath.basename(command.split()[0])
    if program in WRAPPERS:
        return False, f"PID 1 is {program}, not the app: {command[:120]}"
    return True, f"PID 1: {command[:120]}"


def crash_recovers(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """GET the crash path; Docker must restart the container by itself, then the health path
    answers 200 again and, if the image has a HEALTHCHECK, the container turns healthy."""
    runs, container = apps.container_of(ctx, params)
    if isinstance(container, str):
        return False, container
    container.reload()
    before = (container.attrs["RestartCount"], container.attrs["State"]["StartedAt"])
    started = time.monotonic()
    runs.get(params["app"], params["crash_path"], params["port"])
    timeout = float(params.get("timeout", 60))

    def restarted() -> bool:
        container.reload()
        now = (container.attrs["RestartCount"], container.attrs["State"]["StartedAt"])
        return now != before and container.attrs["State"]["Status"] == "running"

    if not poll(restarted, timeout, 0.5):
        return False, f"GET {params['crash_path']}: the app did not end, nothing restarted"
    runs.restarts_caused[params["app"]] = container.attrs["RestartCount"]
    restart_s = time.monotonic() - started

    def answers() -> bool:
        return runs.get(params["app"], params["path"], params["port"], 2).status == 200

    if not poll(answers, timeout, 0.5):
        return False, f"restarted after {restart_s:.0f}s; GET {params['path']} never 200 again"
    if (container.attrs["State"].get("Health") or None) is not None:

        def healthy() -> bool:
            container.reload()
            return container.attrs["State"]["Health"]["Status"] == "healthy"

        if not poll(healthy, timeout, 0.5):
            return False, f"restarted after {restart_s:.0f}s; not healthy within {timeout:.0f}s"
        return (
            True,
            f"restarted after {restart_s:.0f}s, healthy after {time.monotonic() - started:.0f}s",
        )
    return True, f"restarted after {restart_s:.0f}s, GET {params['path']} 200 (no HEALTHCHECK)"


# -- a web page with a form and a data file (TP 002) -----------------------------------------


def query_answers(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """The form's answer to a query is a page (200), with no internet on the network."""
    runs, container = apps.container_of(ctx, params)
    if isinstance(container, str):
        return False, container
    reply = _query(ctx, runs, params)
    return reply.status == 200, f"query for {params['query']['value']} offline: {reply.describe()}"


def query_recorded(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    runs, container = apps.container_of(ctx, params)
    if isinstance(container, str):
        return False, container
    reply = _query(ctx, runs, params)
    return _file_mentions(container, params, f"after the query ({reply.describe()[:60]})")


def query_survives_recreate(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """After a query, `docker rm -f` and a new container on the same volumes: the data file
    still holds the query."""
    runs, container = apps.container_of(ctx, params)
    if isinstance(container, str):
        return False, container
    _query(ctx, runs, params)
    replaced = runs.replace(params["app"])
    if isinstance(replaced, str):
        return False, replaced
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


def _file_mentions(container: Any, params: Mapping[str, Any], when: str) -> Outcome:
    path, value = params["file"], params["query"]["value"]
    try:
        stream, _ = container.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            member = archive.next()
            handle = archive.extractfile(member) if member is not None else None
            text = handle.read(MAX_TEXT_BYTES).decode(errors="replace") if handle else ""
    except docker.errors.NotFound:
        return False, f"{when}: no {path} in the container"
    shown = " ".join(text.split())[:120]
    if value not in text:
        return False, f"{when}: {path} does not mention {value}: {shown}"
    return True, f"{when}: {path} holds {shown}"


# -- systems run from the student's compose file (TP 003, mini-project 004) -----------------


def compose_starts(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """The compose file starts each role's service (its container runs after `up`) and, for
    `depends: {role: dependency}`, the role's service depends on the dependency's."""
    run = stack.stack_run(ctx, params)
    if run.error:
        return False, run.error
    problems: list[str] = []
    shown: list[str] = []
    for role in params["starts"]:
        # A service may restart once while its dependency starts: give it the step's time.
        running = poll(
            lambda role=role: isinstance(run.container(role), Container), ctx.sandbox.timeouts.step
        )
        if running:
            shown.append(f"{run.service(role)} running")
        else:
            problems.append(str(run.container(role)))
    for role, dependency in (params.get("depends") or {}).items():
        service, needed = run.service(role), run.service(dependency)
        if service is None or needed is None:
            problems.append(f"{run.compose_file} has no {role if service is None else dependency}")
            continue
        if needed not in (run.model["services"][service].get("depends_on") or {}):
            problems.append(f"{service} does not depend on {needed}")
        else:
            shown.append(f"{service} depends on {needed}")
    return not problems, "; ".join(problems or shown)


def stack_http_json(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """GET path of the role's service answers 200 with JSON holding `expect`."""
    run = stack.stack_run(ctx, params)
    container = run.container(params["role"])
    if isinstance(container, str):
        return False, container
    path, expect = params["path"], params["expect"]

    def accepted(reply: apps.Reply) -> bool:
        body = reply.json()
        return reply.status == 200 and body is not None and json_contains(body, expect)

    reply = stack.ask_until(
        run, params["role"], params["port"], path, accepted, params["ready_timeout"]
    )
    hint = ""
    if reply.status is None and "refused" in reply.body:
        hint = " (the container runs: does the app listen on 127.0.0.1 only, not 0.0.0.0?)"
    return accepted(reply), f"GET {path} on port {params['port']}: {reply.describe()}{hint}"


def service_exec(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """`docker compose exec <service> COMMAND` exits 0 and prints `expect` (asked until the
    timeout: a database initialises its data directory on its first start)."""
    run = stack.stack_run(ctx, params)
    container = run.container(params["role"])
    if isinstance(container, str):
        return False, container
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
    return passed, f"exec {run.service(params['role'])} {shown}: exit {last[0]}, {last[1]}"


def named_volume(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """The role's service keeps `path` (or a folder above it) in a named volume."""
    run = stack.stack_run(ctx, params)
    if not run.model:
        return False, str(run.error)
    service = run.service(params["role"])
    if service is None:
        return False, f"{run.compose_file} has no {params['role']} service"
    mounts = run.model["services"][service].get("volumes") or []
    path = params["path"].rstrip("/")
    for mount in mounts:
        target = str(mount.get("target", "")).rstrip("/")
        if mount.get("type") == "volume" and mount.get("source") and _covers(target, path):
            return True, f"{service}: volume {mount['source']} on {mount['target']}"
    shown = ", ".join(f"{m.get('type')} {m.get('source', '')}:{m.get('target')}" for m in mounts)
    return False, f"{service}: {path} is not in a named volume ({shown or 'no volume'})"


def basic_auth_api(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """GET path with the credentials the compose file gives answers 200 with JSON holding
    `key`; with no credentials, and with a wrong password, 401."""
    run = stack.stack_run(ctx, params)
    container = run.container(params["role"])
    if isinstance(container, str):
        return False, container
    credentials = _credentials(run, params)
    if credentials is None:
        return False, f"{run.compose_file} gives no {' / '.join(params['credentials']['keys'])}"
    listing = _student_list(ctx, run, params, credentials)
    if isinstance(listing, str):
        return False, listing
    role, port, path = params["role"], params["port"], params["path"]
    anonymous = run.get(role, port, path)
    wrong = run.get(role, port, path, auth=(credentials[0], f"{credentials[1]}-wrong"))
    if anonymous.status != 401:
        return False, f"without credentials: {anonymous.describe()}"
    if wrong.status != 401:
        return False, f"with a wrong password: {wrong.describe()}"
    return True, f"{len(listing)} students with the credentials; 401 without and with a wrong one"


def no_baked_credentials(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """The password the compose file gives is neither a value in the image's configuration
    (ENV, labels) nor a string literal in a file of its build context (a default such as
    `os.environ.get("PASSWORD", "python")`): it comes from configuration only."""
    run = stack.stack_run(ctx, params)
    credentials = _credentials(run, params) if run.model else None
    if credentials is None:
        return False, "the compose file gives no credentials: they can only be in the image"
    password = credentials[1]
    built = ctx.build(params["context"], run.compose_file)
    if built.tag is None:
        return False, str(built.error)
    config = ctx.sandbox.client.images.get(built.tag).attrs["Config"]
    settings = [entry.split("=", 1) for entry in config.get("Env") or [] if "=" in entry]
    settings += list((config.get("Labels") or {}).items())
    baked = [name for name, value in settings if value == password]
    if baked:
        return False, f"the image's configuration sets the password: {', '.join(baked)}"
    # Quoted, so that the password `python` is not found in `FROM python-course`.
    literal = re.compile(rf"([\"']){re.escape(password)}\1")
    context = ctx.root / params["context"]
    for path in sorted(p for p in context.rglob("*") if p.is_file() and ".git" not in p.parts):
        text = path.read_bytes()[:MAX_TEXT_BYTES].decode(errors="replace")
        if literal.search(text):
            return False, f"{path.relative_to(ctx.root)} holds the password as a literal"
    return True, f"the password is in no ENV, label or file of {params['context']}/"


def page_lists(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """The page, its button pressed, names every student the API lists."""
    run = stack.stack_run(ctx, params)
    container = run.container(params["page_role"])
    if isinstance(container, str):
        return False, container
    credentials = _credentials(run, params)
    listing = (
        _student_list(ctx, run, params, credentials)
        if credentials
        else "the compose file gives the page no credentials"
    )
    if isinstance(listing, str):
        return False, f"no student list to show: {listing}"

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
        return False, f"the page does not list {', '.join(missing)}: {shown}"
    return True, f"the page lists {', '.join(listing)}"


# -- helpers ---------------------------------------------------------------------------------


def _covers(mount_target: str, path: str) -> bool:
    return path == mount_target or path.startswith(f"{mount_target}/")


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
) -> list[str] | str:
    """The names the API lists with the credentials (asked once), or why it does not."""

    def ask() -> list[str] | str:
        key = params["key"]
        container = run.container(params["role"])
        if isinstance(container, str):
            return container

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
            return f"with the compose file's credentials: {reply.describe()}"
        return sorted(reply.json()[key])

    return ctx.once("student_list", ask)


def _compose_services(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_bytes()[:MAX_TEXT_BYTES])
    except yaml.YAMLError:
        return {}
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        return {}
    return {name: spec for name, spec in services.items() if isinstance(spec, dict)}


def _image_is(reference: str, repository: str) -> bool:
    """`<registry>/<namespace>/socket_server:1.0` is socket_server from a registry."""
    # A tag cannot hold "/": any "/" before the digest is a registry or namespace part.
    return "/" in reference.split("@", 1)[0] and image_name(reference) == repository


def _committed_blobs(root: Path, paths: list[str]) -> dict[str, str] | str:
    # Plumbing only, with the repository's fsmonitor off: porcelain commands such as
    # `git status` would run filters and hooks the student's .git/config names.
    command = [
        "git",
        "-c",
        "core.fsmonitor=false",
        "-c",
        f"safe.directory={root.resolve()}",
        "-C",
        str(root),
        "ls-tree",
        "-r",
        "HEAD",
        "--",
        *paths,
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run git: {exc}"
    if result.returncode != 0:
        return "not a git repository with a commit"
    blobs = {}
    for line in result.stdout.splitlines():
        meta, _, name = line.partition("\t")
        blobs[name] = meta.split()[2]
    return blobs


def _blob_id(path: Path) -> str:
    """git's id for the file's bytes, computed here so no git filter runs."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _pushed(ctx: Context, names: str | list[str]) -> tuple[str, list[str] | str]:
    """The student's repository and its tags: the first of the accepted names (the course's
    name first, then alternatives a grid accepts) that the registry has."""
    candidates = [ctx.repository(name) for name in ([names] if isinstance(names, str) else names)]
    for repository in candidates:
        tags = _tags(ctx, repository)
        if not isinstance(tags, str):
            return repository, tags
    return candidates[0], _tags(ctx, candidates[0])


def _tags(ctx: Context, repository: str) -> list[str] | str:
    if ctx.registry is None:
        return "no registry connection"

    def fetch() -> list[str] | str:
        try:
            tags = ctx.registry.tags(repository)
        except RegistryNotFound:
            return f"{repository} is not in the registry"
        except RegistryError as exc:
            return f"registry: {exc}"
        return tags or f"{repository} is in the registry with no tag"

    return ctx.once(f"tags:{repository}", fetch)


def _pushed_labels(ctx: Context, repository: str) -> dict[str, str] | str:
    if ctx.registry is None:
        return "no registry connection"
    try:
        manifest = _manifest(ctx, repository, "latest")
        config = ctx.registry.request(
            "GET", f"/v2/{repository}/blobs/{manifest['config']['digest']}"
        ).json()
    except RegistryNotFound:
        return f"{repository}:latest is not in the registry"
    except (RegistryError, ValueError, KeyError) as exc:
        return f"cannot read {repository}:latest: {exc}"
    return (config.get("config") or {}).get("Labels") or {}


def _manifest(ctx: Context, repository: str, reference: str) -> dict[str, Any]:
    assert ctx.registry is not None
    manifest = ctx.registry.request(
        "GET",
        f"/v2/{repository}/manifests/{reference}",
        headers={"Accept": ", ".join(MANIFEST_TYPES)},
    ).json()
    if manifest.get("mediaType") in (DOCKER_MANIFEST, OCI_MANIFEST) or "config" in manifest:
        return manifest
    # An index: the first image of it (course images are single-platform).
    return _manifest(ctx, repository, manifest["manifests"][0]["digest"])


CHECKS: dict[str, Check] = {
    check.__name__: check
    for check in (
        file_present,
        text_matches,
        compose_builds,
        registry_compose,
        git_committed,
        registry_repository,
        registry_tags,
        hub_url_label,
        chat_started,
        chat_terminal,
        chat_hello,
        chat_bye,
        image_builds,
        http_json,
        http_ok,
        image_healthcheck,
        app_pid1,
        crash_recovers,
        query_answers,
        query_recorded,
        query_survives_recreate,
        compose_starts,
        stack_http_json,
        service_exec,
        named_volume,
        basic_auth_api,
        no_baked_credentials,
        page_lists,
    )
}
