"""Single-image HTTP apps (TP 000 frontend + backend): each image built from its folder, run
by us on a private internal network the way the course runs it (a restart policy, the
backend reachable under a name of ours, the frontend told that name through env), and probed
from a helper container on that network: the host never needs a published port.

The backend's name is deliberately not `backend`: a frontend that hard-codes its address
instead of reading the configuration cannot find it, and loses that point only."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import docker.errors
from docker.models.containers import Container
from docker.types import Mount

from labdock.grade.containment import HOLDER_COMMAND, NO_CAPABILITIES, WRITABLE_LABEL, tmpfs_volume
from labdock.grade.context import Context, Lost
from labdock.grade.sandbox import Sandbox

POLL_SECONDS = 0.5
# Run inside the probe container: GET the URL (POST `form`, form-encoded, when given; HTTP
# basic auth when `auth` is [user, password]) and print {"status", "body"} as JSON.
_PROBE = """
import base64, json, sys, urllib.error, urllib.request
ask = json.loads(sys.argv[1])
data = ask["form"].encode() if ask["form"] is not None else None
request = urllib.request.Request(ask["url"], data=data)
if ask["auth"]:
    token = base64.b64encode(":".join(ask["auth"]).encode()).decode()
    request.add_header("Authorization", "Basic " + token)
try:
    with urllib.request.urlopen(request, timeout=ask["timeout"]) as r:
        print(json.dumps({"status": r.status, "body": r.read(65536).decode("utf-8", "replace")}))
except urllib.error.HTTPError as e:
    print(json.dumps({"status": e.code, "body": e.read(65536).decode("utf-8", "replace")}))
except Exception as e:
    print(json.dumps({"status": None, "body": f"{type(e).__name__}: {e}"}))
"""


@dataclass(frozen=True)
class Reply:
    status: int | None
    body: str

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def describe(self) -> str:
        shown = " ".join(self.body.split())[:120]
        return f"HTTP {self.status}: {shown}" if self.status else shown


@dataclass(frozen=True)
class Probe:
    """A container of ours on the apps' network that sends them HTTP requests: the host
    never needs a published port, and the request goes where the apps' own peers' would."""

    container: Container | None

    def get(
        self,
        url: str,
        timeout: float = 5.0,
        form: str | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Reply:
        if self.container is None:
            return Reply(None, "the probe container did not start")
        ask = {"url": url, "timeout": timeout, "form": form, "auth": list(auth) if auth else None}
        code, out = self.container.exec_run(["python3", "-c", _PROBE, json.dumps(ask)])
        try:
            data = json.loads(out.decode(errors="replace").strip().splitlines()[-1])
        except (ValueError, IndexError):
            return Reply(None, f"probe failed (exit {code}): {out.decode(errors='replace')[:120]}")
        return Reply(data["status"], data["body"])


def start_probe(sandbox: Sandbox, image: str, network: str) -> Probe:
    probe = _run(sandbox, image, network, "grade-probe", {}, command=HOLDER_COMMAND, read_only=True)
    return Probe(probe if isinstance(probe, Container) else None)


@dataclass
class RunningApps:
    """The apps' containers (or why each is missing), the probe beside them, and what it
    takes to run an app's container again (same image, environment and volumes: per app,
    the grid's volumes and a tmpfs on each VOLUME of its image)."""

    sandbox: Sandbox
    network: str
    aliases: dict[str, str]
    images: dict[str, str]
    environment: dict[str, str]
    volumes: dict[str, dict[str, dict[str, str]]]
    containers: dict[str, Container | str]
    probe: Probe
    read_only: bool = False
    # Restarts the grader caused on purpose (GET /traceback); any other restart is a crash.
    restarts_caused: dict[str, int] = field(default_factory=dict)

    def get(
        self, app: str, path: str, port: int, timeout: float = 5.0, form: str | None = None
    ) -> Reply:
        return self.probe.get(f"http://{self.aliases[app]}:{port}{path}", timeout, form)

    def wait_ready(self, app: str, path: str, port: int) -> None:
        """Until anything answers (a status, even an error page) or the container stopped."""
        container = self.containers[app]
        deadline = time.monotonic() + self.sandbox.timeouts.step
        while isinstance(container, Container) and self.probe.container is not None:
            reply = self.get(app, path, port, timeout=2)
            if reply.status is not None or time.monotonic() > deadline or not _running(container):
                return
            time.sleep(POLL_SECONDS)

    def replace(self, app: str) -> Container:
        """`docker rm -f` the app's container and run a new one on the same volumes."""
        current = self.containers[app]
        if isinstance(current, Container):
            current.remove(force=True)
        self.restarts_caused[app] = 0
        self.containers[app] = _run(
            self.sandbox,
            self.images[app],
            self.network,
            self.aliases[app],
            self.environment,
            volumes=self.volumes[app],
            read_only=self.read_only,
        )
        replaced = self.containers[app]
        if isinstance(replaced, str):
            raise Lost(replaced)
        return replaced


def running_apps(ctx: Context, params: Mapping[str, Any]) -> RunningApps:
    return ctx.once("apps", lambda: _start(ctx, params))


def container_of(ctx: Context, params: Mapping[str, Any]) -> tuple[RunningApps, Container]:
    """The app's container if it is running and never crashed by itself since it started;
    else Lost, saying why not. A service that crashes after starting (a crash loop under the restart
    policy) loses what depends on it, even when caught in one of its short lives."""
    apps = running_apps(ctx, params)
    app = params["app"]
    container = apps.containers[app]
    if isinstance(container, str):
        raise Lost(container)
    container.reload()
    state = container.attrs["State"]
    crashes = container.attrs["RestartCount"] - apps.restarts_caused.get(app, 0)
    if state["Status"] != "running" or crashes > 0:
        logs = container.logs(tail=5).decode(errors="replace").strip().splitlines()
        last = f": {logs[-1].strip()[:160]}" if logs else ""
        restarted = f", restarted {crashes} times by itself" if crashes > 0 else ""
        stopped = apps.sandbox.layers.note(container.name)
        why = f"; {stopped}" if stopped else ""
        raise Lost(
            f"{app} is not running steadily ({state['Status']}, exit code "
            f"{state['ExitCode']}{restarted}){why}{last}"
        )
    return apps, container


def _start(ctx: Context, params: Mapping[str, Any]) -> RunningApps:
    sandbox = ctx.sandbox
    network = sandbox.client.networks.create(
        f"{sandbox.project}_apps", internal=True, labels=dict(sandbox.labels)
    )
    aliases = {app: f"grade-{app}" for app in params["apps"]}
    apps = RunningApps(
        sandbox=sandbox,
        network=network.name,
        aliases=aliases,
        images={},
        environment={
            key: value.format(**aliases) for key, value in (params.get("environment") or {}).items()
        },
        volumes={},
        containers={},
        probe=Probe(None),
        read_only=bool(params.get("read_only_root")),
    )
    for app, context in params["apps"].items():
        built = ctx.build(context)
        if built.tag is None:
            apps.containers[app] = built.error or "did not build"
            continue
        apps.images[app] = built.tag
    apps.volumes = _volumes(sandbox, params.get("volumes") or {}, apps.images)
    # Started before the apps, as containment.hold_volumes is in a compose project: the
    # tmpfs volumes stay mounted, so /app copied in by the first container survives its
    # replacement (`docker rm -f`, then a new one on the same volume).
    _hold(sandbox, params["probe_image"], {n for v in apps.volumes.values() for n in v})
    for app, tag in apps.images.items():
        apps.containers[app] = _run(
            sandbox,
            tag,
            network.name,
            aliases[app],
            apps.environment,
            volumes=apps.volumes[app],
            read_only=apps.read_only,
        )
    apps.probe = start_probe(sandbox, params["probe_image"], network.name)
    for app in apps.containers:
        apps.wait_ready(app, params["ready_path"], params["port"])
    return apps


def _volumes(
    sandbox: Sandbox, grid_volumes: Mapping[str, str], images: Mapping[str, str]
) -> dict[str, dict[str, dict[str, str]]]:
    """Per app: the grid's volumes (shared by the apps, as a named volume is) and one for
    each other VOLUME its image declares, which the engine would otherwise make on its own
    disk. Each a tmpfs of the disk limit (containment.tmpfs_volume)."""

    def create(name: str) -> str:
        spec = tmpfs_volume(sandbox.labels, sandbox.limits)
        return sandbox.client.volumes.create(f"{sandbox.project}_{name}", **spec).name

    shared = {create(name): target for name, target in grid_volumes.items()}
    covered = {target.rstrip("/") for target in shared.values()}
    found: dict[str, dict[str, dict[str, str]]] = {}
    for app, tag in images.items():
        mounts = {name: {"bind": target, "mode": "rw"} for name, target in shared.items()}
        declared = sandbox.client.api.inspect_image(tag)["Config"].get("Volumes") or {}
        for index, path in enumerate(sorted(p for p in declared if p.rstrip("/") not in covered)):
            mounts[create(f"{app}-volume-{index}")] = {"bind": path, "mode": "rw"}
        found[app] = mounts
    return found


def _hold(sandbox: Sandbox, image: str, names: set[str]) -> None:
    if not names:
        return
    sandbox.client.containers.run(
        image,
        HOLDER_COMMAND,
        detach=True,
        name=f"{sandbox.project}-volume-holder",
        labels=dict(sandbox.labels),
        network_mode="none",
        read_only=True,
        cap_drop=NO_CAPABILITIES,
        security_opt=["no-new-privileges:true"],
        mem_limit=sandbox.limits.memory,
        pids_limit=sandbox.limits.pids,
        # nocopy: the holder's own image puts nothing in them.
        mounts=[
            Mount(f"/held/{name}", name, type="volume", read_only=True, no_copy=True)
            for name in sorted(names)
        ],
    )


def _run(
    sandbox: Sandbox,
    image: str,
    network: str,
    alias: str,
    environment: Mapping[str, str],
    command: list[str] | None = None,
    volumes: Mapping[str, Mapping[str, str]] | None = None,
    read_only: bool = False,
) -> Container | str:
    limits = sandbox.limits
    try:
        container = sandbox.client.containers.create(
            image,
            command=command,
            name=f"{sandbox.project}-{alias}",
            environment=dict(environment),
            volumes={name: dict(spec) for name, spec in (volumes or {}).items()},
            labels={**sandbox.labels, **({} if read_only else {WRITABLE_LABEL: "true"})},
            network=network,
            # The course runs these with a restart policy: /traceback's crash is Docker's to fix.
            restart_policy={"Name": "always"},
            nano_cpus=int(limits.cpus * 1e9),
            mem_limit=limits.memory,
            memswap_limit=limits.memory,
            pids_limit=limits.pids,
            security_opt=["no-new-privileges:true"],
            cap_drop=NO_CAPABILITIES,
            read_only=read_only,
            tmpfs={"/tmp": f"size={limits.tmpfs_size}"} if read_only else {},
            log_config={
                "Type": "json-file",
                "Config": {"max-size": limits.log_size, "max-file": "1"},
            },
        )
        # Aliases are per network: reconnect with ours (create() joins without one).
        sandbox.client.networks.get(network).disconnect(container)
        sandbox.client.networks.get(network).connect(container, aliases=[alias])
        container.start()
    except docker.errors.APIError as exc:
        return f"could not start {image}: {exc.explanation or exc}"
    return container


def _running(container: Container) -> bool:
    container.reload()
    return container.attrs["State"]["Status"] == "running"
