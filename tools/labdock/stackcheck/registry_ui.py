"""The registry UI's state for `labdock verify`: a note, never a failed check. The UI is
optional: the registry role skips it when its image is absent (an offline first run), and
says so; verify repeats it so the teacher does not have to find that line in the play log."""

from __future__ import annotations

from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container

from labdock.stackcheck.discovery import PROJECT_LABEL, SERVICE_LABEL

UI_SERVICE = "ui"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"


def ui_note(client: docker.DockerClient, project: str) -> str | None:
    """One line about a UI that is not up, or None (UI up, or no registry on this host)."""
    containers = client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"})
    if not containers:
        return None
    ui = next((c for c in containers if c.labels.get(SERVICE_LABEL) == UI_SERVICE), None)
    if ui is not None:
        health = ui.attrs["State"].get("Health", {}).get("Status")
        if ui.status == "running" and health in (None, "healthy"):
            return None
        return f"registry UI: container {ui.name} is {health or ui.status}"
    image = deployed_env(containers[0]).get("REGISTRY_UI_IMAGE")
    return absent_ui_note(image, image is not None and _image_present(client, image))


def absent_ui_note(image: str | None, image_present: bool) -> str:
    if image is None:
        return "registry UI: not deployed (see the summary at the end of `make site`)"
    if not image_present:
        return (
            f"registry UI: not deployed: image {image} is not in the engine; load it with "
            "`docker load` from an offline bundle, then run playbooks/registry.yml"
        )
    return (
        f"registry UI: not deployed although image {image} is present: run "
        "playbooks/registry.yml (or registry_ui_enabled is false)"
    )


def deployed_env(container: Container) -> dict[str, str]:
    """The .env the registry role wrote beside the project's compose file ({} if unreadable:
    it is root-only)."""
    folder = container.labels.get(WORKING_DIR_LABEL)
    if not folder:
        return {}
    try:
        lines = (Path(folder) / ".env").read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def _image_present(client: docker.DockerClient, image: str) -> bool:
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    return True
