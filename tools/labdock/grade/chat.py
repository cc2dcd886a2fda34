"""The socket chat POC, run the way a person does it and judged on what is seen, as a teacher
judges it: the student's compose file starts the server then the client, and both programs
must be seen running and the client connected (still running a few seconds after it started);
we attach to each running container's terminal (an exited container cannot be attached: its
last line is the evidence), type `Hello` on the client and read the server's screen, type
`Hello` on the server and read the client's screen, then type `bye` on the client and watch
both containers end.

Each step's outcome is kept on its own, so a chat that fails half-way still earns the steps
that worked (the server's terminal does not depend on the client, for instance)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import docker.errors
from docker.models.containers import Container

from labdock.grade.containment import Privileges
from labdock.grade.context import Context, Lost, poll
from labdock.grade.sandbox import ComposeError

SIDES = ("server", "client")
# A step's outcome, kept for its criterion: the evidence, or why it was lost.
Step = str | Lost


@dataclass
class ChatRun:
    started: Step = field(default_factory=lambda: Lost("not run"))
    terminals: dict[str, Step] = field(default_factory=dict)
    hello: dict[str, Step] = field(default_factory=dict)
    bye: Step = field(default_factory=lambda: Lost("not run"))


def chat_run(ctx: Context, params: Mapping[str, Any]) -> ChatRun:
    return ctx.once("chat", lambda: _run(ctx, params))


def _run(ctx: Context, params: Mapping[str, Any]) -> ChatRun:
    run = ChatRun()
    try:
        model, services, built = _prepare(ctx, params)
        runnable = copy.deepcopy(model)
        for name in services.values():
            # Forced so the chat can be tried even without them; their absence is scored
            # with the terminals.
            runnable["services"][name].update(tty=True, stdin_open=True)
        try:
            notes = ctx.sandbox.up(
                runnable,
                built,
                privileges=Privileges(read_only=bool(params.get("read_only_root"))),
                helper_image=params.get("helper_image"),
            )
        except ComposeError as exc:
            raise Lost(f"compose up failed: {exc}") from None
        containers = {side: _created(ctx, services[side]) for side in SIDES}
    except Lost as nothing_runs:
        # Nothing could start: every step is lost for the same reason.
        run.started = run.bye = nothing_runs
        run.terminals = dict.fromkeys(SIDES, nothing_runs)
        run.hello = dict.fromkeys(SIDES, nothing_runs)
        return run
    server, client = containers["server"], containers["client"]
    step = ctx.sandbox.timeouts.step
    run.started = _step(_started, model, services, containers, notes, ctx.sandbox.timeouts.settle)
    run.terminals = {
        side: _step(_terminal, model["services"][services[side]], containers[side], services[side])
        for side in SIDES
    }
    run.hello = {
        "client": _step(_say_hello, client, server, step),
        "server": _step(_say_hello, server, client, step),
    }
    run.bye = _step(_bye, client, server, step)
    return run


def _step(action: Callable[..., str], *args: Any) -> Step:
    try:
        return action(*args)
    except Lost as lost:
        return lost


def evidence(step: Step) -> str:
    """What a chat criterion answers: the step's evidence, or Lost raised again."""
    if isinstance(step, Lost):
        raise Lost(str(step))
    return step


def _prepare(
    ctx: Context, params: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The compose model, the service of each side and the built images."""
    compose_relative = params["compose_file"]
    model = ctx.compose_model(compose_relative)
    services: dict[str, str] = {}
    for side in SIDES:
        context = params[f"{side}_context"]
        name = ctx.service_for_context(model, context) or _service_named_like(model, side)
        if name is None:
            raise Lost(f"{compose_relative} has no service that builds {context}/")
        services[side] = name
    built, failed = ctx.build_services(model, compose_relative)
    for name in services.values():
        if name in failed:
            raise Lost(f"{failed[name]}; nothing to start")
    return model, services, built


def _created(ctx: Context, service: str) -> Container:
    container = ctx.sandbox.container(service)
    if container is None:
        raise Lost(f"compose up created no {service} container")
    return container


def _service_named_like(model: Mapping[str, Any], side: str) -> str | None:
    names = [name for name in model.get("services") or {} if side in name.lower()]
    return names[0] if len(names) == 1 else None


def _started(
    model: Mapping[str, Any],
    services: Mapping[str, str],
    containers: Mapping[str, Container],
    notes: list[str],
    settle: float,
) -> str:
    """Both programs seen running, the server started first, and the client still running
    `settle` seconds after it started: a client refused at connect (or a server that dies)
    exits well within that, and a person watching the terminals sees it."""
    server_name, client_name = services["server"], services["client"]
    server, client = containers["server"], containers["client"]
    for side, container in (("server", server), ("client", client)):
        if container.attrs["State"]["StartedAt"].startswith("0001-"):
            raise Lost(f"compose up never started {services[side]}")
    if client_name in (model["services"][server_name].get("depends_on") or {}):
        raise Lost(f"the compose file starts {client_name} first ({server_name} depends on it)")
    poll(lambda: not (_running(server) and _running(client)), settle)
    for container in (server, client):
        if not _running(container):
            raise Lost(f"{_exited(container)}; both must be seen running")
    server_at = server.attrs["State"]["StartedAt"]
    client_at = client.attrs["State"]["StartedAt"]
    depends = model["services"][client_name].get("depends_on") or {}
    # Without depends_on the order is luck; both started all the same, as a person sees it.
    order = "" if server_name in depends else f" (no depends_on: {client_name} may start first)"
    contained = f" (contained: {'; '.join(notes)})" if notes else ""
    return (
        f"{server_name} started {server_at[11:22]}, then {client_name} {client_at[11:22]}, "
        f"both still running {settle:.0f}s later{order}{contained}"
    )


def _terminal(service: Mapping[str, Any], container: Container, name: str) -> str:
    """`docker attach` on the running container, as the student's readme does it; the
    terminal is interactive only with the student's own tty and stdin_open."""
    if not _running(container):
        raise Lost(f"cannot attach: {_exited(container)}")
    try:
        container.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1}).close()
    except docker.errors.APIError as exc:
        raise Lost(f"cannot attach to {name}: {exc.explanation or exc}") from None
    missing = [key for key in ("tty", "stdin_open") if not service.get(key)]
    if missing:
        shown = " / ".join(f"`{key}: true`" for key in missing)
        raise Lost(f"attached to the running {name}, but no {shown} in the compose file")
    return f"attached to the running {name}; tty and stdin_open set"


def _say_hello(typed_on: Container, reader: Container, timeout: float) -> str:
    """Type Hello on one side, wait for it on the other side's screen (new output only: the
    typing side's own echo never counts)."""
    where = _service(typed_on)
    for container in (typed_on, reader):
        if not _running(container):
            raise Lost(f"before typing: {_exited(container)}")
    seen_before = len(_screen(reader))
    type_line(typed_on, "Hello")

    def arrived() -> str | None:
        return _line_with(_screen(reader)[seen_before:], "Hello")

    # No need to wait for a prompt first: the terminal keeps what is typed until the program
    # reads it (and the engine's log holds a prompt back until its line ends anyway).
    line = poll(arrived, timeout)
    if line is None and not _running(typed_on):
        raise Lost(f"typed Hello on {where}, which then exited: {_exited(typed_on)}")
    if line is None:
        raise Lost(
            f"typed Hello on {where}; {_service(reader)} did not show it within "
            f"{timeout:.0f}s (last line: {_last_line(reader)})"
        )
    return f"{_service(reader)} shows: {line}"


def _bye(client: Container, server: Container, timeout: float) -> str:
    for container in (client, server):
        if not _running(container):
            raise Lost(f"before bye: {_exited(container)}")
    before = {c.id: c.attrs["State"]["StartedAt"] for c in (client, server)}
    type_line(client, "bye")

    def ended(container: Container) -> bool:
        container.reload()
        state = container.attrs["State"]
        # A restart policy brings it back: a new start time still means it ended.
        return not state["Running"] or state["StartedAt"] != before[container.id]

    poll(lambda: ended(client) and ended(server), timeout)
    still = [_service(c) for c in (client, server) if not ended(c)]
    if still:
        raise Lost(
            f"typed bye on the client; still running after {timeout:.0f}s: {', '.join(still)}"
        )
    codes = ", ".join(
        f"{_service(c)} exit {c.attrs['State']['ExitCode']}" for c in (client, server)
    )
    return f"typed bye on the client; both ended ({codes})"


def type_line(container: Container, text: str) -> None:
    """What a person attached to the container's terminal does: type a line."""
    sock = container.attach_socket(params={"stdin": 1, "stream": 1})
    try:
        sock._sock.sendall(f"{text}\n".encode())
    finally:
        sock.close()


def _screen(container: Container) -> str:
    try:
        return container.logs().decode(errors="replace")
    except docker.errors.APIError:
        return ""


def _running(container: Container) -> bool:
    container.reload()
    return bool(container.attrs["State"]["Running"])


def _exited(container: Container) -> str:
    state = container.attrs["State"]
    return (
        f"{_service(container)} {state['Status']} (exit code {state['ExitCode']}): "
        f"{_last_line(container)}"
    )


def _service(container: Container) -> str:
    return container.labels.get("com.docker.compose.service", container.name)


def _last_line(container: Container) -> str:
    lines = [line.strip() for line in _screen(container).splitlines() if line.strip()]
    return lines[-1][:160] if lines else "(no output)"


def _line_with(text: str, needle: str) -> str | None:
    for line in text.splitlines():
        if needle in line:
            return line.strip()[:160]
    return None
