"""What a teacher reads during `make site` (issue 9), from the real plays and roles.

Bad `-e` values stop the real playbooks at validation, before any change: each test reads the
lines the labdock stdout callback prints. The fallback and summary lines come from the real
task files of base_images and registry (an upstream image and a UI image that cannot be
pulled: a closed loopback port) and the real playbooks/summary.yml, on the local engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.playbooks import REPO_ROOT as REPO
from tests.harness.playbooks import run_playbook as harness_run_playbook

pytestmark = pytest.mark.integration

# Nothing listens on the discard port of the loopback: a pull from it fails at once.
UNREACHABLE = "127.0.0.1:9/labdock-test"


def run_playbook(playbook: Path | str, extra_vars: dict[str, Any] | None = None) -> tuple[int, str]:
    """The real playbook as `make site` runs it; (exit code, everything it printed)."""
    result = harness_run_playbook(playbook, extra_vars, timeout=300)
    return result.returncode, result.stdout + result.stderr


def task_file(role: str, tasks_from: str) -> dict[str, str]:
    """One task file of a real role, as include_role takes it."""
    return {"name": role, "tasks_from": tasks_from}


def failure_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("fatal:", "failed:"))]


@pytest.mark.parametrize(
    ("playbook", "extra_vars", "line"),
    [
        (
            "playbooks/registry.yml",
            {"labdock_image_source": "banana"},
            "fatal: [localhost]: FAILED! => labdock_image_source = 'banana': must be one of "
            "auto, upstream, local (role lab_settings, meta/argument_specs.yml)",
        ),
        (
            "playbooks/registry.yml",
            {"registry_port": "notaport"},
            "fatal: [localhost]: FAILED! => registry_port = 'notaport': must be of type int "
            "(role registry, meta/argument_specs.yml)",
        ),
        (
            "playbooks/registry.yml",
            {"labdock_registry_port": 70000},
            "fatal: [localhost]: FAILED! => labdock_registry_port must be a TCP port (1-65535), "
            "got 70000",
        ),
    ],
    ids=["image-source", "registry-port-type", "lab-port-range"],
)
def test_bad_setting_is_one_line_naming_what_the_user_set(
    playbook: str, extra_vars: dict[str, Any], line: str
) -> None:
    code, output = run_playbook(playbook, extra_vars)
    assert code != 0
    assert failure_lines(output) == [line], output[-3000:]
    assert "argument_spec_data" not in output
    assert "[ERROR]" not in output


def test_passing_range_checks_do_not_read_like_errors() -> None:
    # The UI port equal to the registry's fails one item; the other items pass and print.
    code, output = run_playbook("playbooks/registry.yml", {"registry_ui_port": 5000})
    assert code != 0
    assert failure_lines(output) == [
        "failed: [localhost] => registry_ui_port must differ from registry_port (5000)"
    ], output[-3000:]
    passing = [line for line in output.splitlines() if line.startswith("ok: [localhost] => (item=")]
    assert "ok: [localhost] => (item=registry_port is a TCP port)" in passing
    assert not [line for line in passing if "must" in line or "got" in line]


def test_fallback_and_skipped_ui_are_information_and_summed_up(tmp_path: Path) -> None:
    """Offline: the upstream pull fails, the UI image cannot be pulled. Each says so in one
    line, nothing is red, and the summary play sums it up from the roles' facts."""
    play = [
        {
            "name": "Offline first run, as far as messages go",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Pull step of a missing base image, upstream unreachable",
                    "ansible.builtin.include_role": task_file("base_images", "pull.yml"),
                    "vars": {
                        "base_images_source": "auto",
                        "base_images_name": "python",
                        "base_images_recipes": {"python": {"upstream": f"{UNREACHABLE}/python:1"}},
                        "base_images": {"python": "labdock-test/python:never"},
                    },
                },
                {
                    "name": "Report step on the images present (local builds here)",
                    "ansible.builtin.include_role": task_file("base_images", "report.yml"),
                    "vars": {
                        "base_images": {"python": "labdock/python:latest"},
                        "base_images_missing": [],
                    },
                },
                {
                    "name": "UI image step, Joxit's image cannot be pulled",
                    "ansible.builtin.include_role": task_file("registry", "ui_image.yml"),
                    "vars": {"registry_ui_image": f"{UNREACHABLE}/ui:1"},
                },
            ],
        },
        {"ansible.builtin.import_playbook": str(REPO / "playbooks" / "summary.yml")},
    ]
    playbook = tmp_path / "first_hour.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    code, output = run_playbook(playbook)
    assert code == 0, output[-3000:]
    assert failure_lines(output) == []
    assert "ignoring" not in output
    assert f"python: upstream {UNREACHABLE}/python:1 could not be pulled (" in output
    assert "); building it from Debian packages instead" in output
    assert "Summary: base images built from Debian packages, not pulled from upstream: python" in (
        output
    )
    assert (
        f"Summary: registry UI: the lab page (Joxit image {UNREACHABLE}/ui:1 absent: `docker load`"
        in output
    )
    assert "/v2/ and /token through that same origin" in output
    assert "ignored=0" in output


def test_summary_says_when_nothing_was_skipped() -> None:
    code, output = run_playbook("playbooks/summary.yml")
    assert code == 0, output[-3000:]
    assert "Summary: nothing skipped, every base image and service as configured" in output
