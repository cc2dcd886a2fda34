"""Unit tests of labdock verify's rules, on fake containers (no engine)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from labdock.stackcheck import inspection
from labdock.stackcheck.discovery import Service
from labdock.stackcheck.endpoints import RULES, check_endpoint, json_contains
from tests.harness.playbooks import REPO_ROOT, group_vars


def stacks_catalog() -> dict[str, dict[str, str]]:
    path = REPO_ROOT / "roles" / "stacks" / "vars" / "main.yml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))["stacks_catalog"]


@dataclass
class FakeContainer:
    """Just what the checks read: attrs, and exec_run answering from a table."""

    attrs: dict[str, Any]
    exec_answers: dict[tuple[str, ...], tuple[int, bytes]] = field(default_factory=dict)
    name: str = "fake"
    labels: dict[str, str] = field(default_factory=dict)

    def exec_run(self, cmd: list[str], **_: Any) -> tuple[int, bytes]:
        return self.exec_answers[tuple(cmd)]

    def reload(self) -> None:
        pass


def service(image: str = "localhost:5000/backend:1.0", **attrs: Any) -> tuple[Service, Any]:
    base: dict[str, Any] = {
        "Config": {"Image": image, "Env": []},
        "State": {"Status": "running", "Health": {"Status": "healthy", "Log": []}},
        "HostConfig": {"RestartPolicy": {"Name": "unless-stopped"}},
        "NetworkSettings": {"Networks": {"n": {"IPAddress": "10.0.0.2"}}},
    }
    base.update(attrs)
    container = FakeContainer(base)
    return Service("stack", "labdock-stack", "svc", container), container  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("localhost:5000/simple-api:1.0", ("localhost:5000", "simple-api", "1.0")),
        ("127.0.0.1:5599/backend", ("127.0.0.1:5599", "backend", "latest")),
        ("reg:5000/team/app:2", ("reg:5000", "team/app", "2")),
        ("reg:5000/app@sha256:abc", ("reg:5000", "app", "sha256:abc")),
    ],
)
def test_split_reference(reference: str, expected: tuple[str, str, str]) -> None:
    assert inspection.split_reference(reference) == expected


def test_image_name_ignores_registry_and_tag() -> None:
    svc, _ = service("127.0.0.1:5599/simple-api:broken")
    assert svc.image_name == "simple-api"


def test_unhealthy_container_reports_the_last_line_of_each_probe() -> None:
    log = [
        {"ExitCode": 1, "Output": "Traceback\n  line\nHTTPError: 500"},
        {"ExitCode": 1, "Output": "Traceback\nConnectionRefusedError"},
    ]
    svc, _ = service(State={"Status": "running", "Health": {"Status": "unhealthy", "Log": log}})
    ok, detail = inspection.check_health(svc)
    assert not ok
    assert detail == "running, unhealthy: [exit 1] HTTPError: 500 | [exit 1] ConnectionRefusedError"


def test_container_without_health_check_fails() -> None:
    svc, _ = service(State={"Status": "running"})
    assert inspection.check_health(svc) == (False, "running, no health check configured")


ENDED_CHAT = {
    "Config": {"Image": "r:5000/socket_server:1.0", "Tty": True, "OpenStdin": True},
    "State": {"Status": "exited", "ExitCode": 0, "Health": {"Status": "unhealthy", "Log": []}},
    "HostConfig": {"RestartPolicy": {"Name": "on-failure"}},
}


def test_chat_that_ended_with_exit_0_is_reported_ended_not_unhealthy() -> None:
    svc, _ = service(**ENDED_CHAT)
    assert inspection.check_health(svc) == (
        True,
        "ended (exit 0); `labdock demo stack` starts it again",
    )


@pytest.mark.parametrize(
    "change",
    [
        {"State": {**ENDED_CHAT["State"], "ExitCode": 1}},  # a crash is a failure
        {"HostConfig": {"RestartPolicy": {"Name": "unless-stopped"}}},  # not a one-shot demo
        {"Config": {**ENDED_CHAT["Config"], "Tty": False}},  # not interactive
    ],
)
def test_only_an_interactive_on_failure_program_that_exited_0_is_ended(change: dict) -> None:
    svc, _ = service(**{**ENDED_CHAT, **change})
    ok, detail = inspection.check_health(svc)
    assert not ok and detail.startswith("exited, unhealthy")


def test_recorded_reference_is_read_from_the_deployments_env(tmp_path) -> None:
    (tmp_path / ".env").write_text(
        "FRONTEND_TAG=1.0\nFRONTEND_IMAGE=r:5000/frontend@sha256:aa\n"
        "SIMPLE_API_IMAGE=r:5000/simple-api@sha256:bb\n"
    )
    labels = {inspection.WORKING_DIR_LABEL: str(tmp_path)}
    svc, container = service("r:5000/simple-api@sha256:cc")
    container.labels = labels
    assert inspection.recorded_reference(svc) == "r:5000/simple-api@sha256:bb"
    svc, container = service("r:5000/backend:1.0")
    container.labels = labels
    assert inspection.recorded_reference(svc) is None  # deployed without a record


@pytest.mark.parametrize(
    ("cmdline", "ok"),
    [
        (b"python3\0-m\0waitress\0--port=5000\0", True),
        (b"postgres\0", True),
        (b"/bin/sh\0-c\0python3 app.py\0", False),
        (b"tini\0--\0python3\0", False),
    ],
)
def test_pid1_must_be_the_app_not_a_wrapper(cmdline: bytes, ok: bool) -> None:
    svc, container = service()
    container.exec_answers[("cat", "/proc/1/cmdline")] = (0, cmdline)
    assert inspection.check_pid1(svc)[0] is ok


@pytest.mark.parametrize(
    ("policy", "ok"), [("unless-stopped", True), ("on-failure", True), ("no", False), ("", False)]
)
def test_restart_policy(policy: str, ok: bool) -> None:
    svc, _ = service(HostConfig={"RestartPolicy": {"Name": policy}})
    assert inspection.check_restart_policy(svc)[0] is ok


def test_frontend_answer_must_contain_the_backend_answer() -> None:
    backend = {"service": "backend", "hostname": "abc"}
    assert json_contains({"service": "frontend", "backend": backend}, backend)
    assert not json_contains({"service": "frontend", "backend": {"service": "backend"}}, backend)


TCP_HEADER = b"  sl  local_address rem_address   st tx_queue rx_queue\n"


def test_socket_server_must_listen_on_5000() -> None:
    svc, container = service("r:5000/socket_server:1.0")
    container.exec_answers[("cat", "/proc/net/tcp", "/proc/net/tcp6")] = (
        0,
        TCP_HEADER + b"   0: 00000000:1388 00000000:0000 0A 00000000:00000000\n",
    )
    assert check_endpoint(svc, [svc]) == (True, "listening on TCP 5000")
    container.exec_answers[("cat", "/proc/net/tcp", "/proc/net/tcp6")] = (1, TCP_HEADER)
    assert check_endpoint(svc, [svc]) == (False, "not listening on TCP 5000")


def test_socket_client_must_be_connected() -> None:
    svc, container = service("r:5000/socket_client:1.0")
    container.exec_answers[("cat", "/proc/net/tcp", "/proc/net/tcp6")] = (
        0,
        TCP_HEADER + b"   0: 0200000A:9C40 0300000A:1388 01 00000000:00000000\n",
    )
    assert check_endpoint(svc, [svc])[0]


def test_unknown_image_is_a_failure_not_a_pass() -> None:
    svc, _ = service("r:5000/mystery:1.0")
    assert check_endpoint(svc, [svc]) == (False, "no rule for image 'mystery'")


def test_every_image_a_stack_runs_has_a_rule() -> None:
    # What the lab deploys, read where it is defined: the course images of group_vars and
    # every image of the stacks role's catalog (the bases postgres and nginx among them).
    course = {image["name"] for image in group_vars()["labdock_images"]}
    deployed = {image for services in stacks_catalog().values() for image in services.values()}
    assert len(course) > 1
    assert course | deployed <= set(RULES), sorted(course | deployed - set(RULES))


def test_postgres_rule_runs_psql_as_the_configured_user() -> None:
    svc, container = service(
        "r:5000/postgres:15",
        Config={"Image": "r:5000/postgres:15", "Env": ["POSTGRES_USER=demo", "POSTGRES_DB=demo"]},
    )
    container.exec_answers[("psql", "-U", "demo", "-d", "demo", "-tAc", "select 1")] = (0, b"1\n")
    assert check_endpoint(svc, [svc]) == (True, "psql -U demo -d demo answers")


def test_proxy_must_answer_below_500_on_each_published_port(monkeypatch) -> None:
    svc, _ = service(
        "r:5000/nginx@sha256:aa",
        HostConfig={"PortBindings": {"8101/tcp": [{}], "8102/tcp": [{}]}},
    )
    statuses = {"http://10.0.0.2:8101/": 200, "http://10.0.0.2:8102/": 502}
    monkeypatch.setattr(
        "labdock.stackcheck.endpoints._get",
        lambda url, **_: type("Answer", (), {"status_code": statuses[url]})(),
    )
    assert check_endpoint(svc, [svc]) == (
        False,
        "GET / through the proxy: 8101 -> 200, 8102 -> 502",
    )
    statuses["http://10.0.0.2:8102/"] = 404  # the app answered: no route for /
    assert check_endpoint(svc, [svc])[0]
