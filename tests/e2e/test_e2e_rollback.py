"""Rollouts pinned by digest, through both rescue branches of the stacks role: a new version
that fails its health gate never replaces the serving one, and a real update that fails after
a healthy candidate is rolled back to the exact previous digests, even though the tag was
re-pushed in between. One stack's failure does not stop the next stack. A registry
maintenance after an update keeps the image .env.previous names in the registry, and the
rollback on purpose still brings it back."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import requests
from docker.models.containers import Container

from tests.harness.docker_images import build_from_dockerfile
from tests.harness.playbooks import play_report, run_playbook
from tests.harness.registry import USER

from .e2e_lab import Lab

pytestmark = pytest.mark.e2e


class Poller:
    """A request loop on one URL while a rollout runs: every status code (0: no answer)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                self.answers.append(requests.get(self.url, timeout=2).status_code)
            except requests.RequestException:
                self.answers.append(0)
            self._stop.wait(0.2)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def frontend_container(client: docker.DockerClient, lab: Lab) -> Container:
    (found,) = client.containers.list(
        filters={
            "label": [
                f"com.docker.compose.project={lab.project('frontend_backend')}",
                "com.docker.compose.service=frontend",
            ]
        }
    )
    return found


def recorded(lab: Lab, variable: str) -> str:
    """A variable of the deployed frontend_backend .env: the rollout's record."""
    for line in (lab.root / "frontend_backend" / ".env").read_text().splitlines():
        if line.startswith(f"{variable}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{variable} not in .env")


def running_digests(client: docker.DockerClient, lab: Lab) -> list[str]:
    image = client.images.get(frontend_container(client, lab).attrs["Image"])
    return [d.split("@", 1)[1] for d in image.attrs["RepoDigests"]]


class Repush:
    """Re-push frontend:1.0 in the test registry with other content (the tag moves, as a
    teacher's `docker push` would move it), and put the original back."""

    def __init__(self, lab: Lab, client: docker.DockerClient) -> None:
        self.client = client
        self.repository = f"{lab.registry.address}/frontend"
        self.auth = {"username": USER, "password": lab.registry.password}
        self.original = client.images.get(f"{self.repository}:1.0")
        (self.pinned,) = [
            d for d in self.original.attrs["RepoDigests"] if d.startswith(f"{self.repository}@")
        ]
        self.pushed: list[str] = []

    def __call__(self, dockerfile_tail: str) -> None:
        tag = f"{self.repository}:1.0"
        build_from_dockerfile(self.client, f"FROM {self.pinned}\n{dockerfile_tail}\n", tag)
        self.client.images.push(self.repository, tag="1.0", auth_config=self.auth)
        self.pushed.append(self.client.images.get(tag).id)

    def restore(self) -> None:
        self.original.tag(self.repository, "1.0")
        self.client.images.push(self.repository, tag="1.0", auth_config=self.auth)


@pytest.fixture
def repush_frontend(lab: Lab, docker_client: docker.DockerClient) -> Iterator[Repush]:
    repush = Repush(lab, docker_client)
    try:
        yield repush
    finally:
        repush.restore()
        for image_id in repush.pushed:
            docker_client.images.remove(image_id, force=True)


def test_good_repush_rolls_out_without_a_failed_request(
    lab: Lab, docker_client: docker.DockerClient, repush_frontend: Repush
) -> None:
    before = recorded(lab, "FRONTEND_IMAGE")
    repush_frontend("LABEL org.labdock.test=good")
    with Poller(lab.url("frontend")) as frontend, Poller(lab.url("backend")) as backend:
        result = lab.deploy(stacks_enabled=["frontend_backend"])
    assert result.returncode == 0, play_report(result)
    # Blue/green behind the proxy: the new version started beside the old one.
    assert "Ensure the new version runs beside the serving one" in result.stdout
    after = recorded(lab, "FRONTEND_IMAGE")
    assert after != before and after.split("@", 1)[1] in running_digests(docker_client, lab)
    for poller in (frontend, backend):
        assert poller.answers and set(poller.answers) == {200}, poller.answers
    verify = lab.labdock("verify", "frontend_backend", "--project-prefix", lab.prefix)
    assert verify.returncode == 0, verify.stdout[-3000:]

    # Back to the original 1.0: the same way, for the next tests.
    repush_frontend.restore()
    with Poller(lab.url("frontend")) as frontend:
        result = lab.deploy(stacks_enabled=["frontend_backend"])
    assert result.returncode == 0, play_report(result)
    assert recorded(lab, "FRONTEND_IMAGE") == before
    assert frontend.answers and set(frontend.answers) == {200}, frontend.answers


def test_rollback_on_purpose_brings_back_the_previous_digest_blue_green(
    lab: Lab, docker_client: docker.DockerClient, repush_frontend: Repush
) -> None:
    before = recorded(lab, "FRONTEND_IMAGE")
    # A re-pushed 1.0 that is healthy, rolled out: the teacher then wants the old one back.
    repush_frontend("LABEL org.labdock.test=rolled-back")
    result = lab.deploy(stacks_enabled=["frontend_backend"])
    assert result.returncode == 0, play_report(result)
    repushed = recorded(lab, "FRONTEND_IMAGE")
    assert repushed != before

    with Poller(lab.url("frontend")) as frontend, Poller(lab.url("backend")) as backend:
        # A string, as `make rollback` and `-e stacks_rollback=true` give it.
        result = lab.deploy(stacks_enabled=["frontend_backend"], stacks_rollback="true")
    assert result.returncode == 0, play_report(result)
    assert "Ensure the new version runs beside the serving one" in result.stdout
    # The exact previous digest runs and is the record, though 1.0 still names the re-push;
    # the record it replaced is the one a second rollback would return to.
    assert recorded(lab, "FRONTEND_IMAGE") == before
    assert before.split("@", 1)[1] in running_digests(docker_client, lab)
    replaced = (lab.root / "frontend_backend" / ".env.previous").read_text()
    assert f"FRONTEND_IMAGE={repushed}" in replaced
    for poller in (frontend, backend):
        assert poller.answers and set(poller.answers) == {200}, poller.answers
    verify = lab.labdock("verify", "frontend_backend", "--project-prefix", lab.prefix)
    assert verify.returncode == 0, verify.stdout[-3000:]


def test_rollback_of_a_stack_never_updated_names_it_and_changes_nothing(lab: Lab) -> None:
    env = lab.root / "website" / ".env"
    assert not (lab.root / "website" / ".env.previous").exists()
    record = env.read_text()

    result = lab.deploy(stacks_enabled=["website"], stacks_rollback=True)

    assert result.returncode != 0
    assert "website has not been updated on this host since its first deployment" in result.stdout
    assert "1 of 1 stacks failed" in result.stdout
    assert env.read_text() == record
    assert requests.get(lab.url("website", "/healthcheck"), timeout=10).status_code == 200


def test_broken_repush_never_replaces_the_serving_digest(
    lab: Lab, docker_client: docker.DockerClient, repush_frontend: Repush
) -> None:
    before = recorded(lab, "FRONTEND_IMAGE")
    # The same tag, now an image whose app never listens: its health check can only fail.
    repush_frontend('CMD ["python3", "-c", "import time; time.sleep(86400)"]')

    with Poller(lab.url("frontend")) as poller:
        result = lab.deploy(stacks_enabled=["frontend_backend", "website"], stacks_wait_timeout=60)

    assert result.returncode != 0, "the broken version passed the health gate"
    assert "stack frontend_backend failed its health gate" in result.stdout
    assert "the previous version kept serving" in result.stdout
    assert "service frontend: running, health unhealthy" in result.stdout
    assert "[exit 1]" in result.stdout  # the health log's lines are quoted
    # The next stack was still deployed, and the summary names the failed one only.
    failed_at = result.stdout.index("stack frontend_backend failed its health gate")
    assert re.search(r"TASK \[stacks : [^\]]*: website\]", result.stdout[failed_at:])
    assert "1 of 2 stacks failed" in result.stdout
    assert "- frontend_backend: stack frontend_backend failed" in result.stdout
    # The record is the previous digest, and that digest serves.
    assert recorded(lab, "FRONTEND_IMAGE") == before
    assert before.split("@", 1)[1] in running_digests(docker_client, lab)
    after = requests.get(lab.url("frontend"), timeout=10)
    assert after.status_code == 200 and "backend" in after.json()
    assert poller.answers and set(poller.answers) == {200}, poller.answers
    verify = lab.labdock("verify", "frontend_backend", "--project-prefix", lab.prefix)
    assert verify.returncode == 0, verify.stdout[-3000:]


def test_failed_update_after_a_healthy_candidate_restores_the_exact_digests(
    lab: Lab, docker_client: docker.DockerClient, repush_frontend: Repush
) -> None:
    before = recorded(lab, "FRONTEND_IMAGE")
    # A good new content under the same tag: the candidate is healthy. The real update then
    # fails because the frontend's new host port is taken (the candidate publishes none).
    repush_frontend("LABEL org.labdock.test=repushed")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = lab.deploy(
            stacks_enabled=["frontend_backend"],
            stacks_frontend_port=busy.getsockname()[1],
            stacks_wait_timeout=60,
        )

    assert result.returncode != 0, "the update on a busy port succeeded"
    assert "it was rolled back to the previous version" in result.stdout
    # Rolled back to the exact previous digest, though 1.0 now names another image.
    assert recorded(lab, "FRONTEND_IMAGE") == before
    assert before.split("@", 1)[1] in running_digests(docker_client, lab)
    assert frontend_container(docker_client, lab).attrs["Config"]["Image"] == before
    after = requests.get(lab.url("frontend"), timeout=10)
    assert after.status_code == 200 and "backend" in after.json()
    verify = lab.labdock("verify", "frontend_backend", "--project-prefix", lab.prefix)
    assert verify.returncode == 0, verify.stdout[-3000:]


def test_maintenance_keeps_the_rollback_target_and_the_rollback_still_works(
    lab: Lab, docker_client: docker.DockerClient, repush_frontend: Repush, tmp_path: Path
) -> None:
    # This machine is the lab host: its stacks were deployed by the stacks role in lab.root.
    before = recorded(lab, "FRONTEND_IMAGE")
    repush_frontend("LABEL org.labdock.test=maintained")
    result = lab.deploy(stacks_enabled=["frontend_backend"])
    assert result.returncode == 0, play_report(result)
    previous = lab.root / "frontend_backend" / ".env.previous"
    assert f"FRONTEND_IMAGE={before}" in previous.read_text()
    target = before.split("@", 1)[1]

    # The rule alone would delete it: the re-push is the newest image of the repository.
    rule = {"repositories": "frontend", "keep_last": 1}
    plan = lab.labdock(
        "prune",
        "--repositories",
        "frontend",
        "--keep-last",
        "1",
        "--no-local-engine",
        "--dry-run",
        "--json",
    )
    assert plan.returncode == 0, plan.stderr
    assert target in {d["digest"] for d in json.loads(plan.stdout)["deleted"]}

    # make maintenance with that rule, on this host's stacks and this registry.
    maintenance = run_playbook(
        "playbooks/maintenance.yml",
        lab.registry.role_vars(
            registry_retention_rules=[rule],
            registry_maintenance_stacks_root=str(lab.root),
            registry_maintenance_registry_address=lab.registry.address,
            registry_client_settings_path=str(
                lab.registry.write_client_config(tmp_path / "client.json")
            ),
        ),
    )
    assert maintenance.returncode == 0, play_report(maintenance)
    listed = lab.labdock("catalog", "--json")
    (frontend,) = [r for r in json.loads(listed.stdout)["repositories"] if r["name"] == "frontend"]
    assert target in {t["digest"] for t in frontend["tags"]}

    # The local copy cannot be removed to force a pull (the re-push is built on it), so the
    # registry's side is checked above: the target is still tagged there after the prune.
    result = lab.deploy(stacks_enabled=["frontend_backend"], stacks_rollback="true")
    assert result.returncode == 0, play_report(result)
    assert recorded(lab, "FRONTEND_IMAGE") == before
    assert target in running_digests(docker_client, lab)
    answer = requests.get(lab.url("frontend"), timeout=10)
    assert answer.status_code == 200 and "backend" in answer.json()
