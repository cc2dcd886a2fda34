"""The weekly maintenance timer (registry_maintenance_timer_enabled) on a machine whose PID 1
is systemd: one throwaway lab host (tests/harness/room.py) playing the controller, since the
machine the tests run on may have no systemd at all. Installed: enabled, active and listed
by `systemctl list-timers` with its next run; a second run changes nothing; turned off:
stopped, its units gone and systemd no longer knows them."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.harness.playbooks import BIN, REPO_ROOT, play_report
from tests.harness.room import Room

pytestmark = pytest.mark.room

PLAYBOOK = REPO_ROOT / "tests" / "harness" / "maintenance_timer.yml"
TIMER = "labdock-maintenance.timer"
# The role's default schedule, as systemd prints the next elapse: a Sunday at 03:30.
NEXT_RUN = re.compile(r"^Sun \d{4}-\d{2}-\d{2} 03:30:00 \w+")


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Room, Path]]:
    """One throwaway host, named `localhost` in its inventory: the controller of the play."""
    workdir = tmp_path_factory.mktemp("timer")
    with Room(workdir / "host", 1) as room:
        (host,) = room.inventory()["all"]["children"]["lab"]["hosts"].values()
        inventory = workdir / "inventory.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": host}}}))
        yield room, inventory


def play(inventory: Path, enabled: bool) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            str(inventory),
            str(PLAYBOOK),
            "-e",
            json.dumps({"registry_maintenance_timer_enabled": enabled}),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def systemctl(room: Room, *args: str) -> str:
    return room.ssh("pc01", "systemctl " + " ".join(args)).stdout.strip()


def changed(result: subprocess.CompletedProcess[str]) -> int:
    return sum(int(n) for n in re.findall(r"changed=(\d+)", result.stdout.split("PLAY RECAP")[-1]))


def test_the_timer_is_installed_with_its_next_run_and_removed_when_off(controller) -> None:
    room, inventory = controller
    assert room.ssh("pc01", "readlink /proc/1/exe").stdout.strip().endswith("systemd")

    result = play(inventory, enabled=True)
    assert result.returncode == 0, play_report(result)
    assert systemctl(room, "is-enabled", TIMER) == "enabled"
    assert systemctl(room, "is-active", TIMER) == "active"
    listed = systemctl(room, "list-timers", "--no-pager", "--no-legend", TIMER)
    assert TIMER in listed and NEXT_RUN.match(listed), listed
    assert NEXT_RUN.match(systemctl(room, "show", "-p", "NextElapseUSecRealtime", "--value", TIMER))

    again = play(inventory, enabled=True)
    assert again.returncode == 0, play_report(again)
    assert changed(again) == 0, again.stdout[-2000:]

    result = play(inventory, enabled=False)
    assert result.returncode == 0, play_report(result)
    assert systemctl(room, "list-timers", "--all", "--no-pager", "--no-legend", TIMER) == ""
    assert room.ssh("pc01", f"test -e /etc/systemd/system/{TIMER}").returncode == 1
    assert systemctl(room, "show", "-p", "LoadState", "--value", TIMER) == "not-found"
