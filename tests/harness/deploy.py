"""A deployment folder for a throwaway registry, laid out as the registry role deploys it
(compose.yaml, compose.readonly.yaml, config.yml, .env), so playbooks/maintenance.yml can
restart it read-only and back through the same files as on a lab."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from pathlib import Path

from tests.harness.registry import COMPOSE_BIN, COMPOSE_FILE, ThrowawayRegistry

DEPLOYED_FILES = ("compose.yaml", "compose.readonly.yaml", "config.yml")


def deploy_dir(registry: ThrowawayRegistry, directory: Path) -> Path:
    """Copy the project files and write the .env the role would; then `compose up` from the
    folder, so the running container is the one the play will restart."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in DEPLOYED_FILES:
        shutil.copyfile(COMPOSE_FILE.parent / name, directory / name)
    settings = {
        "REGISTRY_IMAGE": registry.image,
        "REGISTRY_BIND": "127.0.0.1",
        "REGISTRY_PORT": str(registry.port),
        "REGISTRY_TLS_DIR": str(registry.certs.ca_cert.parent),
        "REGISTRY_AUTH_DIR": str(registry.workdir / "auth"),
        "REGISTRY_HTTP_SECRET": secrets.token_hex(16),
    }
    (directory / ".env").write_text(
        "".join(f"{key}={value}\n" for key, value in settings.items()), encoding="utf-8"
    )
    compose(registry, directory, "up", "-d", "--wait")
    return directory


def compose(
    registry: ThrowawayRegistry, directory: Path, *args: str, read_only: bool = False
) -> subprocess.CompletedProcess[str]:
    """`docker compose` in the deployment folder; read_only adds the maintenance override,
    as the play does for its window."""
    files = ["-f", "compose.yaml"] + (["-f", "compose.readonly.yaml"] if read_only else [])
    return subprocess.run(
        [str(COMPOSE_BIN), "-p", registry.project, *files, *args],
        cwd=directory,
        capture_output=True,
        text=True,
        check=True,
    )
