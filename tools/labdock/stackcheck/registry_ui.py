"""The registry UI's state for `labdock verify`: a note, never a failed check. It says which
UI serves the pages (Joxit's, or the lab's own page when Joxit's image is absent) and whether
the UI's origin answers /v2/ with a challenge whose realm is on that same origin: the
condition for a browser's login prompt (a cross-site realm gets none)."""

from __future__ import annotations

import re

import docker
import requests
from docker.models.containers import Container

from labdock.stackcheck.discovery import PROJECT_LABEL, SERVICE_LABEL

UI_SERVICE = "ui"
JOXIT_SERVICE = "joxit"
UI_CONTAINER_PORT = "8080/tcp"
PROBE_TIMEOUT = 5
_REALM = re.compile(r'^Bearer realm="([^"]*)"')


def ui_note(client: docker.DockerClient, project: str) -> str | None:
    """One line about the registry UI, or None when this host runs no registry."""
    containers = client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"})
    if not containers:
        return None
    services = {c.labels.get(SERVICE_LABEL): c for c in containers}
    ui = services.get(UI_SERVICE)
    if ui is None:
        return "registry UI: not deployed (registry_ui_enabled is false)"
    if not _up(ui):
        return f"registry UI: container {ui.name} is {_state(ui)}"
    joxit = services.get(JOXIT_SERVICE)
    if joxit is not None and not _up(joxit):
        return f"registry UI: Joxit's container {joxit.name} is {_state(joxit)}"
    pages = "Joxit" if joxit is not None else "the lab page (Joxit's image absent)"
    origin = published_origin(ui)
    if origin is None:
        return f"registry UI: {pages}, but container {ui.name} publishes no port"
    return f"registry UI: {pages} on {origin}; {same_origin_answer(origin)}"


def published_origin(container: Container) -> str | None:
    """http://host:port of the UI as this host reaches it (a wildcard bind is loopback)."""
    bindings = (container.attrs["NetworkSettings"].get("Ports") or {}).get(UI_CONTAINER_PORT)
    if not bindings:
        return None
    host = bindings[0].get("HostIp") or "0.0.0.0"
    host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)
    return f"http://{host}:{bindings[0]['HostPort']}"


def same_origin_answer(origin: str) -> str:
    """What /v2/ on the UI's origin answers, said in words."""
    try:
        response = requests.get(f"{origin}/v2/", timeout=PROBE_TIMEOUT)
    except requests.RequestException as exc:
        return f"but {origin}/v2/ does not answer ({type(exc).__name__})"
    challenge = response.headers.get("WWW-Authenticate", "")
    realm = _REALM.match(challenge)
    if response.status_code == 401 and realm and realm[1] == f"{origin}/token":
        return "/v2/ and /token answer through that same origin"
    if response.status_code == 401 and challenge.startswith("Basic"):
        return "/v2/ answers through that same origin (Basic auth)"
    return (
        f"but {origin}/v2/ answers {response.status_code} with realm "
        f"{realm[1] if realm else 'none'}: a browser gets no login prompt"
    )


def _up(container: Container) -> bool:
    health = container.attrs["State"].get("Health", {}).get("Status")
    return container.status == "running" and health in (None, "healthy")


def _state(container: Container) -> str:
    return container.attrs["State"].get("Health", {}).get("Status") or container.status
