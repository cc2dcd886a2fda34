"""All the checks of one stack, in report order, as CheckResults."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import docker
import docker.errors

from labdock.checks import CheckResult
from labdock.registry import RegistryClient
from labdock.stackcheck import disruption, inspection
from labdock.stackcheck.discovery import Service, services_of
from labdock.stackcheck.endpoints import Outcome, check_endpoint

Check = tuple[str, Callable[[], Outcome]]


def _run(service: Service, name: str, check: Callable[[], Outcome]) -> CheckResult:
    try:
        ok, detail = check()
    except (docker.errors.DockerException, OSError, ValueError, KeyError) as exc:
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    return CheckResult(f"{service.label} {name}", ok, detail)


def _read_only_checks(
    service: Service,
    siblings: Sequence[Service],
    client: docker.DockerClient,
    registry: RegistryClient,
) -> list[Check]:
    checks: list[Check] = [
        ("healthy", lambda: inspection.check_health(service)),
        ("restart policy", lambda: inspection.check_restart_policy(service)),
        ("image digest", lambda: inspection.check_digest(service, client, registry)),
    ]
    # The endpoint and PID 1 of a stopped container are not there to check: `healthy`
    # already failed for it.
    if service.container.attrs["State"]["Status"] == "running":
        checks += [
            ("endpoint", lambda: check_endpoint(service, siblings)),
            ("PID 1 is the app", lambda: inspection.check_pid1(service)),
        ]
    return checks


def _disruptive_checks(service: Service, client: docker.DockerClient) -> list[Check]:
    checks: list[Check] = []
    if disruption.can_crash(service):
        checks.append(("crash recovery", lambda: disruption.check_crash_recovery(service)))
    if disruption.volume_mounts(service):
        checks.append(
            (
                "volume survives recreate",
                lambda: disruption.check_volume_survives_recreate(client, service),
            )
        )
    return checks


def verify_stack(
    client: docker.DockerClient,
    registry: RegistryClient,
    stack: str,
    project: str,
    *,
    disruptive: bool,
) -> list[CheckResult]:
    services = services_of(client, stack, project)
    if not services:
        return [CheckResult(f"{stack} deployed", False, f"no container of project {project}")]
    results = [
        _run(service, name, check)
        for service in services
        for name, check in _read_only_checks(service, services, client, registry)
    ]
    if disruptive:
        results += [
            _run(service, name, check)
            for service in services
            for name, check in _disruptive_checks(service, client)
        ]
    return results
