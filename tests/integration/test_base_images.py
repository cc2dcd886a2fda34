"""The local base images keep the contracts ARCHITECTURE.md gives them ("Base images").

Assumes `playbooks/provision.yml` ran (`make test` runs it first): the images are used
under their `labdock/<name>:latest` tags. Every container is named
`labdock-test-base-<random>` and removed by its fixture, whatever the test did.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
import requests
from docker.models.containers import Container

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
APP_USER = "10001:10001"

# A plain-HTTP registry configuration of the test's own (the deployment's uses TLS).
REGISTRY_CONFIG = """\
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
"""

PHP_PAGE = "<?php echo 'sum=' . (20 + 22) . ' php=' . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION;"

RunContainer = Callable[..., Container]


def image(name: str) -> str:
    return f"labdock/{name}:latest"


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll until `check()` is true; the assertion names what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def published_port(container: Container, port: str) -> int:
    container.reload()
    return int(container.ports[port][0]["HostPort"])


@pytest.fixture
def run_container(docker_client: docker.DockerClient) -> Iterator[RunContainer]:
    """Start detached containers with unique names; remove them (and their anonymous
    volumes) at the end of the test."""
    started: list[Container] = []

    def run(name: str, **kwargs: object) -> Container:
        container = docker_client.containers.run(
            image(name), name=f"labdock-test-base-{secrets.token_hex(4)}", detach=True, **kwargs
        )
        started.append(container)
        return container

    yield run
    for container in started:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)


def exec_ok(container: Container, *command: str, user: str = "") -> str:
    result = container.exec_run(list(command), user=user)
    output = result.output.decode()
    assert result.exit_code == 0, f"{' '.join(command)} failed ({result.exit_code}): {output}"
    return output


def test_python_runs_stdlib_as_app_user(docker_client: docker.DockerClient) -> None:
    script = (
        "import json, os, sqlite3, ssl, tempfile\n"
        "ctx = ssl.create_default_context()\n"
        "db = sqlite3.connect(':memory:')\n"
        "with tempfile.NamedTemporaryFile() as f: pass\n"
        "print(json.dumps({'uid': os.getuid(), 'gid': os.getgid(), 'cas': len(ctx.get_ca_certs()),"
        " 'sqlite': db.execute('select 6 * 7').fetchone()[0]}))\n"
    )
    output = docker_client.containers.run(
        image("python"), ["python3", "-c", script], user=APP_USER, remove=True
    )
    facts = json.loads(output)
    assert facts["uid"] == 10001
    assert facts["gid"] == 10001
    assert facts["sqlite"] == 42
    # The CA bundle is there, so apps can make HTTPS calls.
    assert facts["cas"] > 50


def test_python_has_the_upstream_interpreter_paths(docker_client: docker.DockerClient) -> None:
    output = docker_client.containers.run(
        image("python"),
        ["/usr/local/bin/python3", "-c", "import sys; print(sys.version_info[:2])"],
        remove=True,
    )
    assert output.decode().strip() == "(3, 11)"


def test_python_build_has_pip_and_venv(docker_client: docker.DockerClient) -> None:
    output = docker_client.containers.run(
        image("python-build"),
        ["sh", "-c", "python3 -m venv /tmp/v && /tmp/v/bin/python -m pip --version"],
        remove=True,
    )
    assert output.decode().startswith("pip ")


def test_registry_serves_v2(run_container: RunContainer, tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(REGISTRY_CONFIG, encoding="utf-8")
    config.chmod(0o644)
    registry = run_container(
        "registry",
        ports={"5000/tcp": ("127.0.0.1", None)},
        volumes={str(config): {"bind": "/etc/docker/registry/config.yml", "mode": "ro"}},
    )
    url = f"http://127.0.0.1:{published_port(registry, '5000/tcp')}/v2/"

    def answers() -> bool:
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(answers, f"the registry at {url}")
    # The compose file's health check runs busybox wget inside the container.
    exec_ok(registry, "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:5000/v2/")
    # Not root, yet it writes its data directory (a fresh anonymous volume here).
    assert exec_ok(registry, "id", "-u").strip() != "0"
    exec_ok(registry, "touch", "/var/lib/registry/written")


def test_postgres_initialises_from_env(run_container: RunContainer) -> None:
    password = secrets.token_urlsafe(12)
    db = run_container(
        "postgres",
        environment={"POSTGRES_USER": "demo", "POSTGRES_PASSWORD": password, "POSTGRES_DB": "demo"},
    )

    def ready() -> bool:
        db.reload()
        assert db.status != "exited", db.logs().decode()
        # Over TCP: only the final server listens there, not the init phase's one.
        return (
            db.exec_run(["pg_isready", "-h", "127.0.0.1", "-U", "demo", "-d", "demo"]).exit_code
            == 0
        )

    wait_for(ready, "PostgreSQL to accept connections")
    # The local socket trusts (what `docker compose exec db psql -U demo -d demo` needs).
    answer = exec_ok(db, "psql", "-U", "demo", "-d", "demo", "-tAc", "select current_user, 6 * 7")
    assert answer.strip() == "demo|42"
    # Over TCP a password is required, and the right one works.
    tcp = ["psql", "-h", "127.0.0.1", "-U", "demo", "-d", "demo", "-tAc", "select 1"]
    assert db.exec_run(tcp, environment={"PGPASSWORD": "wrong"}).exit_code != 0
    assert db.exec_run(tcp, environment={"PGPASSWORD": password}).exit_code == 0
    # The server is PID 1, so it gets the container's stop signal.
    assert exec_ok(db, "cat", "/proc/1/comm").strip() == "postgres"


def test_php_apache_serves_php(run_container: RunContainer, tmp_path: Path) -> None:
    docroot = tmp_path / "html"
    docroot.mkdir()
    (docroot / "index.php").write_text(PHP_PAGE, encoding="utf-8")
    docroot.chmod(0o755)
    (docroot / "index.php").chmod(0o644)
    web = run_container(
        "php-apache",
        ports={"80/tcp": ("127.0.0.1", None)},
        volumes={str(docroot): {"bind": "/var/www/html", "mode": "ro"}},
    )
    url = f"http://127.0.0.1:{published_port(web, '80/tcp')}/"
    responses: list[requests.Response] = []

    def serves() -> bool:
        try:
            responses.append(requests.get(url, timeout=2))
        except requests.ConnectionError:
            return False
        return True

    wait_for(serves, f"Apache at {url}")
    assert responses[-1].status_code == 200
    assert responses[-1].text == "sum=42 php=8.2"


def test_bad_source_fails_naming_the_variable(tmp_path: Path) -> None:
    playbook = tmp_path / "bad_source.yml"
    playbook.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  roles:\n"
        "    - role: base_images\n"
        "      base_images_source: nowhere\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), str(playbook)],
        cwd=REPO,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode != 0
    assert "base_images_source" in result.stdout + result.stderr
