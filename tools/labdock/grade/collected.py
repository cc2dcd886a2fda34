"""Hand-ins from `labdock room collect PATH DEST`: collect copies PATH from each host into
DEST/<host>/<PATH's last part>/, so each host folder holds one hand-in. Its student is the
host's `labdock_student` inventory variable, read through the inventory code `labdock room`
uses; a host without one (or no longer in the inventory) is graded under its host name."""

from __future__ import annotations

from pathlib import Path

from labdock.errors import UsageError
from labdock.room.inventory import room_hosts


def collected_handins(destination: Path, inventory: Path) -> list[tuple[str, Path]]:
    """(student, folder) for each host folder of DEST, in host order."""
    if not destination.is_dir():
        raise UsageError(f"--room-collect {destination} is not a folder")
    students = {host.name: host.student for host in room_hosts(inventory)}
    handins = []
    for host_folder in sorted(p for p in destination.iterdir() if p.is_dir()):
        inside = list(host_folder.iterdir())
        # Symlinks are not followed: collect's tar filter refuses links out, and so do we.
        if len(inside) != 1 or inside[0].is_symlink() or not inside[0].is_dir():
            found = ", ".join(sorted(p.name for p in inside)) or "nothing"
            raise UsageError(
                f"{host_folder} should hold only the folder `labdock room collect` copied, "
                f"found: {found}; collect into an empty DEST"
            )
        handins.append((students.get(host_folder.name) or host_folder.name, inside[0]))
    if not handins:
        raise UsageError(f"--room-collect {destination} has no host folder")
    return handins
