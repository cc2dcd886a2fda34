"""Run one job on every room host over SSH (Fabric), in parallel with a bound, with a
progress bar; a host that cannot be reached is an outcome, never an exception."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from labdock.output import stderr_console
from labdock.room.inventory import RoomHost

CONNECT_TIMEOUT = 10
T = TypeVar("T")


@dataclass(frozen=True)
class HostOutcome(Generic[T]):
    host: RoomHost
    value: T | None
    # Set when the host could not be reached or the job could not run there.
    error: str | None = None


def connect(host: RoomHost) -> Any:
    """A Fabric connection that checks the host key against the inventory's known_hosts file
    when it names one (the throwaway room does)."""
    # Imported here: the labdock package also runs on lab hosts (labdock_cli role) with
    # Debian's libraries only, where `room` is never used and Fabric is not installed.
    from fabric import Connection
    from paramiko import RejectPolicy

    connect_kwargs: dict[str, Any] = {}
    if host.key_file:
        connect_kwargs["key_filename"] = host.key_file
    connection = Connection(
        host.address,
        user=host.user,
        port=host.port,
        connect_timeout=CONNECT_TIMEOUT,
        connect_kwargs=connect_kwargs,
    )
    if host.known_hosts:
        connection.client.load_host_keys(host.known_hosts)
        connection.client.set_missing_host_key_policy(RejectPolicy())
    return connection


def on_hosts(
    hosts: Sequence[RoomHost],
    job: Callable[[Any, RoomHost], T],
    *,
    workers: int,
    label: str,
) -> list[HostOutcome[T]]:
    """job(connection, host) on every host, at most `workers` at a time; outcomes in the
    inventory's host order."""
    outcomes: dict[str, HostOutcome[T]] = {}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with (
        Progress(*columns, console=stderr_console(), transient=True) as progress,
        ThreadPoolExecutor(max_workers=max(1, workers)) as pool,
    ):
        task = progress.add_task(label, total=len(hosts))
        futures = {pool.submit(_run_one, job, host): host for host in hosts}
        for future in as_completed(futures):
            outcome = future.result()
            outcomes[outcome.host.name] = outcome
            progress.advance(task)
    return [outcomes[host.name] for host in hosts]


def _run_one(job: Callable[[Any, RoomHost], T], host: RoomHost) -> HostOutcome[T]:
    if host.local:
        return HostOutcome(host, None, "the controller itself (connection local): not a room host")
    try:
        with connect(host) as connection:
            return HostOutcome(host, job(connection, host))
    except (TimeoutError, OSError, EOFError) as exc:
        return HostOutcome(host, None, f"unreachable: {exc}")
    except Exception as exc:
        # paramiko's SSHException family (authentication, host key) and invoke's failures.
        return HostOutcome(host, None, f"{type(exc).__name__}: {exc}")
