"""A multi-service course system run from the student's own compose file (TP 003 simple-api
with its database, mini-project 004 student_list): every service that builds is built, the
contained model is started under our project name, and a probe container joins the project's
network to send the requests the services' own peers would send.

Services are found by role, as the grid names them: the service that builds the role's
folder, else the first service with one of the role's accepted names, else the one service
whose image is the role's. Each check reads the
one run (built, started and probed once per submission)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from docker.models.containers import Container

from labdock.grade.apps import Probe, Reply, start_probe
from labdock.grade.containment import Privileges
from labdock.grade.context import Context, Lost, poll
from labdock.grade.sandbox import ComposeError
from labdock.stackcheck.discovery import image_name


@dataclass
class StackRun:
    """The student's stack as started: the compose file, Compose's model of it, the service
    of each role, their containers, and the probe; `error` says why nothing runs."""

    compose_file: str
    model: dict[str, Any] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    containers: dict[str, Container] = field(default_factory=dict)
    build_failures: dict[str, str] = field(default_factory=dict)
    probe: Probe = field(default_factory=lambda: Probe(None))
    error: str | None = None
    # Container name -> why the grader stopped it (the sandbox's LayerWatch notes).
    stopped: Mapping[str, str] = field(default_factory=dict)
    # What containment changed in the student's file (containment.contain's notes).
    contained: list[str] = field(default_factory=list)

    def service(self, role: str) -> str | None:
        return self.roles.get(role)

    def require_model(self) -> dict[str, Any]:
        """Compose's model of the student's file; Lost if it could not be read."""
        if not self.model:
            raise Lost(str(self.error))
        return self.model

    def require_service(self, role: str) -> str:
        name = self.roles.get(role)
        if name is None:
            raise Lost(f"{self.compose_file} has no {role} service")
        return name

    def container(self, role: str) -> Container:
        """The role's running container; Lost saying why there is none."""
        if self.error:
            raise Lost(self.error)
        name = self.require_service(role)
        if name in self.build_failures:
            raise Lost(self.build_failures[name])
        container = self.containers.get(name)
        if container is None:
            raise Lost(f"{self.compose_file}: service {name} has no container")
        container.reload()
        if container.attrs["State"]["Status"] != "running":
            logs = container.logs(tail=3).decode(errors="replace").strip().splitlines()
            last = f"; last log line: {logs[-1][:120]}" if logs else ""
            stopped = self.stopped.get(container.name)
            why = f"; {stopped}" if stopped else ""
            raise Lost(f"service {name} is {container.attrs['State']['Status']}{why}{last}")
        return container

    def get(
        self,
        role: str,
        port: int,
        path: str,
        *,
        timeout: float = 5.0,
        form: str | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Reply:
        return self.probe.get(f"http://{self.roles[role]}:{port}{path}", timeout, form, auth)

    def environment(self, role: str) -> Mapping[str, Any]:
        name = self.roles.get(role)
        service = (self.model.get("services") or {}).get(name) or {}
        return service.get("environment") or {}


def stack_run(ctx: Context, params: Mapping[str, Any]) -> StackRun:
    return ctx.once("stack", lambda: _start(ctx, params))


def ask_until(
    run: StackRun,
    role: str,
    port: int,
    path: str,
    accepted: Callable[[Reply], bool],
    timeout: float,
    **request: Any,
) -> Reply:
    """Ask until the answer is accepted or `timeout` seconds passed; the last answer either
    way. A database-backed app may answer 500 until its database has started."""
    last = [Reply(None, "not asked")]

    def attempt() -> bool:
        last[0] = run.get(role, port, path, timeout=3, **request)
        return accepted(last[0])

    poll(attempt, timeout, 1.0)
    return last[0]


def _start(ctx: Context, params: Mapping[str, Any]) -> StackRun:
    relative = _compose_file(ctx, params["compose_files"])
    run = StackRun(compose_file=relative, stopped=ctx.sandbox.layers.notes)
    try:
        model = ctx.compose_model(relative)
    except Lost as unreadable:
        run.error = str(unreadable)
        return run
    run.model = model
    for role, spec in params["roles"].items():
        name = _find_service(ctx, model, spec)
        if name is not None:
            run.roles[role] = name
    built, run.build_failures = ctx.build_services(model, relative)
    startable = _startable(model, run.build_failures)
    if not startable:
        run.error = "; ".join(run.build_failures.values()) or f"{relative} has no service"
        return run
    try:
        # As a teacher would after a failed build: `up` what can start, the rest is scored.
        # The probe's image (ours, with python3) also holds the project's volumes mounted.
        run.contained = ctx.sandbox.up(
            model, built, startable, _privileges(run, params), helper_image=params["probe_image"]
        )
    except ComposeError as exc:
        run.error = f"compose up failed: {exc}"
        return run
    for name in model.get("services") or {}:
        container = ctx.sandbox.container(name)
        if container is not None:
            run.containers[name] = container
    networks = _project_networks(run.containers.values())
    if networks:
        run.probe = start_probe(ctx.sandbox, params["probe_image"], networks[0])
        if run.probe.container is not None:
            for network in networks[1:]:
                ctx.sandbox.client.networks.get(network).connect(run.probe.container)
    return run


def _privileges(run: StackRun, params: Mapping[str, Any]) -> Privileges:
    """The grid's capabilities, given per role, for the services found in those roles."""
    return Privileges(
        capabilities={
            run.roles[role]: tuple(capabilities)
            for role, capabilities in (params.get("capabilities") or {}).items()
            if role in run.roles
        },
        read_only=bool(params.get("read_only_root")),
    )


def _startable(model: Mapping[str, Any], unbuilt: Mapping[str, str]) -> list[str]:
    """The services that need no unbuilt image, directly or through their dependencies."""
    services = model.get("services") or {}
    blocked = set(unbuilt)
    changed = True
    while changed:
        changed = False
        for name, service in services.items():
            if name not in blocked and blocked & set(service.get("depends_on") or {}):
                blocked.add(name)
                changed = True
    return [name for name in services if name not in blocked]


def _compose_file(ctx: Context, candidates: list[str]) -> str:
    """The first compose file the submission has, by the names Compose itself looks for."""
    for relative in candidates:
        path = ctx.compose_file(relative)
        if path is not None:
            return str(path.relative_to(ctx.root))
    return candidates[0]


def _find_service(ctx: Context, model: Mapping[str, Any], spec: Mapping[str, Any]) -> str | None:
    if spec.get("context"):
        name = ctx.service_for_context(model, spec["context"])
        if name is not None:
            return name
    services = model.get("services") or {}
    named = next((name for name in spec.get("names") or [] if name in services), None)
    if named is not None:
        return named
    # Else the one service whose image is the role's (`postgres:16`, `<registry>/postgres:15`).
    by_image = [
        name
        for name, service in services.items()
        if any(word in image_name(service.get("image") or "") for word in spec.get("images") or [])
    ]
    return by_image[0] if len(by_image) == 1 else None


def _project_networks(containers: Any) -> list[str]:
    """Every network of the project's services (the contained model's are all internal):
    the probe joins them all, so it reaches each service however the student split them."""
    names: list[str] = []
    for container in containers:
        names.extend(n for n in container.attrs["NetworkSettings"]["Networks"] if n not in names)
    return names
