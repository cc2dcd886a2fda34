"""SPEC.md's acceptance flows, against the stacks the stacks role deployed for the tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import docker
import pytest
import requests
from docker.models.containers import Container

from tests.harness.playbooks import play_report

from .e2e_lab import Lab

pytestmark = pytest.mark.e2e

TIMEOUT = 10


def container(client: docker.DockerClient, lab: Lab, stack: str, service: str) -> Container:
    found = client.containers.list(
        all=True,
        filters={
            "label": [
                f"com.docker.compose.project={lab.project(stack)}",
                f"com.docker.compose.service={service}",
            ]
        },
    )
    assert len(found) == 1, f"{stack}/{service}: {len(found)} containers"
    return found[0]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(0.25)
    raise AssertionError(f"not {what} within {timeout:.0f}s")


def health(c: Container) -> str | None:
    c.reload()
    return (c.attrs["State"].get("Health") or {}).get("Status")


def test_second_run_changes_nothing(lab: Lab) -> None:
    result = lab.deploy()
    assert result.returncode == 0, play_report(result)
    recap = [line for line in result.stdout.splitlines() if line.startswith("localhost")]
    assert recap and "changed=0" in recap[-1], recap


def test_labdock_verify_passes_on_every_stack(lab: Lab, tmp_path) -> None:
    junit = tmp_path / "verify.xml"
    result = lab.labdock("verify", "--project-prefix", lab.prefix, "--json", "--junit", str(junit))
    report = json.loads(result.stdout)
    failed = [c for c in report["checks"] if not c["ok"]]
    assert result.returncode == 0 and not failed, failed or result.stderr
    assert {"frontend_backend", "student_list", "simple_api", "website"} <= set(report["stacks"])
    assert junit.read_text().count("<testcase") == len(report["checks"])


def test_frontend_calls_backend_and_both_answer_json(lab: Lab) -> None:
    backend = requests.get(lab.url("backend"), timeout=TIMEOUT)
    frontend = requests.get(lab.url("frontend"), timeout=TIMEOUT)
    assert backend.status_code == 200 and frontend.status_code == 200
    assert backend.headers["Content-Type"].startswith("application/json")
    assert frontend.json()["backend"] == backend.json()


@pytest.mark.parametrize("service", ["backend", "frontend"])
def test_traceback_crash_is_restarted_healthy_with_the_app_as_pid1(
    lab: Lab, docker_client: docker.DockerClient, service: str
) -> None:
    c = container(docker_client, lab, "frontend_backend", service)
    restarts = c.attrs["RestartCount"]
    with pytest.raises(requests.RequestException):
        requests.get(lab.url(service, "/traceback"), timeout=TIMEOUT).raise_for_status()

    def restarted() -> bool:
        c.reload()
        return c.attrs["RestartCount"] > restarts

    wait_until(restarted, 60, "restarted by Docker")
    wait_until(lambda: health(c) == "healthy", 90, "healthy again")
    assert requests.get(lab.url(service, "/healthcheck"), timeout=TIMEOUT).status_code == 200
    code, cmdline = c.exec_run(["cat", "/proc/1/cmdline"])
    argv = cmdline.decode().split("\0")
    assert code == 0 and argv[0].startswith("python3") and "waitress" in argv, argv


def test_website_counts_survive_rm_f_and_a_new_container(
    lab: Lab, docker_client: docker.DockerClient
) -> None:
    name = f"steve{int(time.time()) % 100000}"
    for _ in range(2):
        page = requests.get(lab.url("website"), params={"name": name}, timeout=30)
        assert page.status_code == 200
    assert (
        requests.get(lab.url("website", "/stats"), timeout=TIMEOUT).json()["queried_names"][
            name.lower()
        ]
        == 2
    )
    old = container(docker_client, lab, "website", "website")
    old.remove(force=True)
    result = lab.compose("website", "up", "-d", "--wait")
    assert result.returncode == 0, result.stderr
    new = container(docker_client, lab, "website", "website")
    assert new.id != old.id
    volumes = [m["Name"] for m in new.attrs["Mounts"] if m["Destination"] == "/app"]
    assert volumes == [f"{lab.project('website')}_app_data"]
    stats = requests.get(lab.url("website", "/stats"), timeout=TIMEOUT).json()
    assert stats["queried_names"][name.lower()] == 2


def test_student_age_needs_credentials(lab: Lab) -> None:
    url = lab.url("student_age", "/supmit/api/v1.0/get_student_ages")
    assert requests.get(url, timeout=TIMEOUT).status_code == 401
    assert requests.get(url, auth=("teacher", "wrong"), timeout=TIMEOUT).status_code == 401
    answer = requests.get(
        url, auth=("teacher", lab.password("student_age_password")), timeout=TIMEOUT
    )
    assert answer.status_code == 200
    ages = answer.json()["student_ages"]
    assert ages and all(isinstance(v, str) for v in ages.values())


def test_php_page_lists_the_students(lab: Lab) -> None:
    url = lab.url("student_age", "/supmit/api/v1.0/get_student_ages")
    ages = requests.get(
        url, auth=("teacher", lab.password("student_age_password")), timeout=TIMEOUT
    ).json()["student_ages"]
    home = requests.get(lab.url("student_website"), timeout=TIMEOUT)
    assert home.status_code == 200 and "<form" in home.text.lower()
    # The page's button submits its form; the listing is the answer to that submission.
    listing = requests.post(lab.url("student_website"), data={"submit": "List Student"}, timeout=30)
    assert listing.status_code == 200
    missing = [name for name in ages if name not in listing.text]
    assert not missing, listing.text[:2000]


def test_simple_api_health_and_psql_through_compose_exec(lab: Lab) -> None:
    answer = requests.get(lab.url("simple_api", "/health"), timeout=TIMEOUT)
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    # The API uses the database: a visit is a row.
    requests.get(lab.url("simple_api"), timeout=TIMEOUT).raise_for_status()
    result = lab.compose(
        "simple_api", "exec", "-T", "db", "psql", "-U", "demo", "-d", "demo", "-tAc", "select 1"
    )
    assert result.returncode == 0 and result.stdout.strip() == "1", result.stderr


def test_disruptive_verify_recovers_website_and_simple_api(lab: Lab) -> None:
    result = lab.labdock(
        "verify", "--project-prefix", lab.prefix, "--disruptive", "--json", "website", "simple_api"
    )
    report = json.loads(result.stdout)
    names = {c["name"] for c in report["checks"]}
    # The crash and the recreate really ran: they are rows of the report, and they passed.
    assert {
        "website/website crash recovery",
        "website/website volume survives recreate",
        "simple_api/db crash recovery",
        "simple_api/db volume survives recreate",
    } <= names
    failed = [c for c in report["checks"] if not c["ok"]]
    assert result.returncode == 0 and not failed, failed or result.stderr
