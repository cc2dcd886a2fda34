"""`labdock grade --room-collect DEST -i INVENTORY`: each host folder `labdock room collect`
made is one hand-in, named by the host's `labdock_student` (read by the room's own inventory
code, ansible-inventory), else by the host."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from labdock.errors import UsageError
from labdock.grade.collected import collected_handins

INVENTORY = {
    "all": {
        "children": {
            "lab": {
                "hosts": {
                    "pc01": {"labdock_student": "alice"},
                    "pc02": {},
                },
                "children": {"exam": {"hosts": {"pc03": {"labdock_student": "carol"}}}},
            }
        }
    }
}


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "room.yml"
    path.write_text(yaml.safe_dump(INVENTORY))
    return path


def collect(destination: Path, hosts: list[str]) -> None:
    """DEST as `room collect /home/student/exam DEST` leaves it."""
    for host in hosts:
        (destination / host / "exam").mkdir(parents=True)
        (destination / host / "exam" / "Dockerfile").write_text("FROM scratch\n")


def test_each_host_folder_is_its_student_hand_in(tmp_path: Path, inventory: Path) -> None:
    destination = tmp_path / "collected"
    # pc09 is in no inventory any more: it keeps its host name, like pc02.
    collect(destination, ["pc03", "pc01", "pc02", "pc09"])
    assert collected_handins(destination, inventory) == [
        ("alice", destination / "pc01" / "exam"),
        ("pc02", destination / "pc02" / "exam"),
        ("carol", destination / "pc03" / "exam"),
        ("pc09", destination / "pc09" / "exam"),
    ]


def test_a_host_folder_that_collect_did_not_make_is_refused(
    tmp_path: Path, inventory: Path
) -> None:
    destination = tmp_path / "collected"
    collect(destination, ["pc01"])
    (destination / "pc01" / "notes.txt").write_text("stray\n")
    with pytest.raises(UsageError, match=r"found: exam, notes.txt"):
        collected_handins(destination, inventory)


def test_a_symlinked_hand_in_is_refused(tmp_path: Path, inventory: Path) -> None:
    destination = tmp_path / "collected"
    (destination / "pc01").mkdir(parents=True)
    (destination / "pc01" / "exam").symlink_to(tmp_path)
    with pytest.raises(UsageError, match="should hold only the folder"):
        collected_handins(destination, inventory)


def test_an_empty_or_missing_destination_is_refused(tmp_path: Path, inventory: Path) -> None:
    with pytest.raises(UsageError, match="is not a folder"):
        collected_handins(tmp_path / "nowhere", inventory)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no host folder"):
        collected_handins(tmp_path / "empty", inventory)
