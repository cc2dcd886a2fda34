"""`labdock room` reads its hosts from the Ansible inventory through ansible-inventory: the
group `lab`, narrowed by Ansible patterns, with each host's SSH settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from labdock.errors import LabdockError
from labdock.room.inventory import room_hosts

INVENTORY = {
    "all": {
        "children": {
            "registry": {"hosts": {"localhost": {"ansible_connection": "local"}}},
            "lab": {
                "hosts": {
                    "pc01": {
                        "ansible_host": "127.0.0.1",
                        "ansible_port": 2201,
                        "ansible_user": "root",
                        "ansible_ssh_private_key_file": "/keys/id",
                        "ansible_ssh_common_args": "-o UserKnownHostsFile=/k/known -o BatchMode=1",
                    },
                    "pc02": {"ansible_host": "192.0.2.2"},
                },
                "children": {"exam": {"hosts": {"pc03": {}}}},
            },
        }
    }
}


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "room.yml"
    path.write_text(yaml.safe_dump(INVENTORY))
    return path


def test_every_lab_host_with_its_ssh_settings(inventory: Path) -> None:
    hosts = {host.name: host for host in room_hosts(inventory)}
    assert sorted(hosts) == ["pc01", "pc02", "pc03"]
    assert hosts["pc01"].address == "127.0.0.1"
    assert hosts["pc01"].port == 2201
    assert hosts["pc01"].user == "root"
    assert hosts["pc01"].key_file == "/keys/id"
    assert hosts["pc01"].known_hosts == "/k/known"
    assert hosts["pc02"].port == 22
    assert hosts["pc02"].known_hosts is None
    assert hosts["pc03"].address == "pc03"
    assert not hosts["pc01"].become


def test_the_readmes_example_inventory_logs_in_as_its_admin_and_becomes_root() -> None:
    example = Path(__file__).resolve().parents[2] / "inventory" / "lab.example.yml"
    hosts = room_hosts(example)
    assert [h.name for h in hosts] == ["pc01.lab.example", "pc02.lab.example", "pc03.lab.example"]
    assert all(h.user == "labadmin" and h.become for h in hosts)


def test_limit_takes_ansible_patterns(inventory: Path) -> None:
    assert [h.name for h in room_hosts(inventory, "pc0*:!pc02")] == ["pc01", "pc03"]
    assert [h.name for h in room_hosts(inventory, "exam")] == ["pc03"]


def test_a_limit_matching_no_lab_host_is_an_error(inventory: Path) -> None:
    with pytest.raises(LabdockError, match=r"no host in group 'lab' matching --limit 'localhost'"):
        room_hosts(inventory, "localhost")


def test_a_missing_inventory_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(LabdockError, match=r"missing\.yml"):
        room_hosts(tmp_path / "missing.yml")
