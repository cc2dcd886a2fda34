"""What each `labdock room` verb does on one host, given a Fabric connection."""

from __future__ import annotations

import io
import json
import posixpath
import shlex
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labdock.checks import CheckResult
from labdock.config import group_vars, lab_project_prefix
from labdock.room.inventory import RoomHost

PROBE = Path(__file__).with_name("probe.py").read_text(encoding="utf-8")
COMMAND_TIMEOUT = 900

# What `room reset` keeps: the lab's compose projects and the images they and the registry
# run (prefix of the stacks role's projects, lab_project_prefix(); the host's own images
# referenced by them).
PROJECT_LABEL = "com.docker.compose.project"
# The CLI settings the labdock_cli role writes on each host (group_vars'
# labdock_host_config_path): the registry as the host sees it.
HOST_CLIENT_CONFIG = str(group_vars().get("labdock_host_config_path", ""))


def _run(connection: Any, host: RoomHost, command: str, **kwargs: Any) -> Any:
    """Run a shell command on the host, as root through Fabric's sudo when the inventory says
    `become` (the CLI settings, root's docker login and Docker itself are root's). sudo runs
    one program: the command goes to `sh -c` whole, so `a; b` and pipes stay under sudo."""
    options = {"hide": True, "warn": True, "timeout": COMMAND_TIMEOUT, **kwargs}
    if host.become:
        return connection.sudo(f"sh -c {shlex.quote(command)}", user="root", **options)
    return connection.run(command, **options)


def status(connection: Any, host: RoomHost) -> list[CheckResult]:
    """One row per question the teacher asks about the host, before the exam."""
    result = _run(connection, host, f"python3 - {HOST_CLIENT_CONFIG}", in_stream=io.StringIO(PROBE))
    if result.exited != 0:
        return [CheckResult(f"{host.name} probe", False, _last_line(result.stderr))]
    report = json.loads(result.stdout)
    rows = [CheckResult(f"{host.name} reachable", True, f"ssh {host.address}:{host.port}")]
    docker = report.get("docker")
    rows.append(
        CheckResult(
            f"{host.name} docker",
            docker is not None,
            f"engine {docker}" if docker else report.get("docker_error", ""),
        )
    )
    registry = report.get("registry")
    if registry is None:
        rows.append(CheckResult(f"{host.name} registry", False, report.get("registry_error", "")))
        return rows
    rows.append(
        CheckResult(
            f"{host.name} trusts registry",
            report["trusted"],
            f"/etc/docker/certs.d/{registry}/ca.crt" + ("" if report["trusted"] else " missing"),
        )
    )
    rows.append(
        CheckResult(
            f"{host.name} logged in",
            report["logged_in"],
            f"docker login {registry}" + ("" if report["logged_in"] else " missing"),
        )
    )
    verify = report.get("verify")
    if verify is None:
        if docker is not None:
            rows.append(CheckResult(f"{host.name} stacks", False, report.get("verify_error", "")))
        return rows
    checks = verify.get("checks", [])
    digests = [c for c in checks if c["name"].endswith(" image digest")]
    health = [c for c in checks if c not in digests]
    rows.append(
        _summary(f"{host.name} stacks healthy", health, f"{len(verify.get('stacks', []))} stacks")
    )
    rows.append(_summary(f"{host.name} digests = registry", digests, f"{len(digests)} images"))
    return rows


def _summary(name: str, checks: list[dict[str, Any]], what: str) -> CheckResult:
    failed = [c for c in checks if not c["ok"]]
    if not checks:
        return CheckResult(name, False, "no course stack deployed")
    if failed:
        return CheckResult(name, False, "; ".join(f"{c['name']}: {c['detail']}" for c in failed))
    return CheckResult(name, True, f"{what}, {len(checks)} checks passed")


@dataclass(frozen=True)
class CommandOutput:
    exit_code: int
    stdout: str
    stderr: str


def execute(connection: Any, host: RoomHost, command: str) -> CommandOutput:
    result = _run(connection, host, command)
    return CommandOutput(result.exited, result.stdout, result.stderr)


# The student leftovers, listed by the host's docker CLI: every container and network not of
# a lab project, every volume neither of a lab project nor mounted by a lab container, and
# every image neither the lab registry's own (its top level) nor run by a lab container.
# Plain shell, so the host needs nothing but docker; one `kind<TAB>id<TAB>name` line each.
_LEFTOVERS = r"""
set -e
lab='^__PREFIX__'
registry=$(sed -n 's|.*"url": *"https://\([^"]*\)".*|\1|p' __CLIENT_CONFIG__ 2>/dev/null || true)
lab_ids=$(docker ps -a --filter label=__LABEL__ --format '{{.ID}} {{.Label "__LABEL__"}}' |
  awk -v lab="$lab" '$2 ~ lab {print $1}')
lab_volumes=$(for id in $lab_ids; do
  docker inspect --format '{{range .Mounts}}{{.Name}} {{end}}' "$id"; done)
lab_images=$(for id in $lab_ids; do docker inspect --format '{{.Config.Image}}' "$id"; done)
docker ps -a --format '{{.ID}}\t{{.Names}}\t{{.Label "__LABEL__"}}' |
  awk -F'\t' -v lab="$lab" '$3 !~ lab {print "container\t" $1 "\t" $2}'
docker volume ls --format '{{.Name}}\t{{.Label "__LABEL__"}}' |
  while IFS="$(printf '\t')" read -r name project; do
    case " $(echo $lab_volumes) " in *" $name "*) continue ;; esac
    echo "$project" | grep -q "$lab" || printf 'volume\t%s\t%s\n' "$name" "$name"
  done
docker network ls --format '{{.ID}}\t{{.Name}}\t{{.Label "__LABEL__"}}' |
  awk -F'\t' -v lab="$lab" '$2 !~ /^(bridge|host|none)$/ && $3 !~ lab {
    print "network\t" $1 "\t" $2}'
docker image ls --format '{{.ID}}\t{{.Repository}}:{{.Tag}}' |
  while IFS="$(printf '\t')" read -r id ref; do
    # The lab's images sit at the registry's top level (<registry>/website:1.0); what a
    # student pushed or pulled is under their namespace (<registry>/alice/...) and goes.
    case "$ref" in "$registry"/*/*) ;; "$registry"/*) [ -n "$registry" ] && continue ;; esac
    case " $(echo $lab_images) " in *" $ref "*) continue ;; esac
    printf 'image\t%s\t%s\n' "$id" "$ref"
  done
"""


@dataclass(frozen=True)
class Leftover:
    kind: str
    ident: str
    name: str


def leftovers(connection: Any, host: RoomHost) -> list[Leftover]:
    script = (
        _LEFTOVERS.replace("__PREFIX__", lab_project_prefix())
        .replace("__LABEL__", PROJECT_LABEL)
        .replace("__CLIENT_CONFIG__", HOST_CLIENT_CONFIG)
    )
    result = _run(connection, host, "sh -s", in_stream=io.StringIO(script))
    if result.exited != 0:
        raise RuntimeError(f"listing leftovers failed: {_last_line(result.stderr)}")
    found = [Leftover(*line.split("\t", 2)) for line in result.stdout.splitlines() if line.strip()]
    # The same object listed twice is removed once (an image is removed by each of its tags).
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for item in found:
        if (item.kind, item.ident, item.name) not in seen:
            seen.add((item.kind, item.ident, item.name))
            unique.append(item)
    return unique


def reset(connection: Any, host: RoomHost, dry_run: bool) -> list[Leftover]:
    """Remove what students left, containers first (they hold the rest); returns what was
    (or, with dry_run, would be) removed."""
    found = leftovers(connection, host)
    if dry_run or not found:
        return found
    commands = {
        "container": "docker rm -f -v",
        "volume": "docker volume rm -f",
        "network": "docker network rm",
        # By tag, not by ID: a student's tag on a lab image's ID goes, the lab's tags stay.
        # An untagged image (<none>:<none>, left by a rebuild) has only its ID.
        "image": "docker image rm",
    }
    for kind, command in commands.items():
        idents = [
            shlex.quote(item.name if kind == "image" and ":<none>" not in item.name else item.ident)
            for item in found
            if item.kind == kind
        ]
        if idents:
            result = _run(connection, host, f"{command} {' '.join(idents)}")
            if result.exited != 0:
                raise RuntimeError(f"{command} failed: {_last_line(result.stderr)}")
    return found


def collect(connection: Any, host: RoomHost, path: str, destination: Path) -> int:
    """Copy the host's folder `path` into destination/<host>/; returns the number of files.
    One tar stream per host: Fabric's `get` copies a single file."""
    parent, name = posixpath.split(path.rstrip("/")) or ("/", "")
    command = f"tar -C {shlex.quote(parent or '/')} -cf - {shlex.quote(name)}"
    buffer = io.BytesIO()
    result = _run(connection, host, command, out_stream=_BinaryWriter(buffer), encoding="latin-1")
    if result.exited != 0:
        raise RuntimeError(f"{path}: {_last_line(result.stderr)}")
    target = destination / host.name
    target.mkdir(parents=True, exist_ok=True)
    buffer.seek(0)
    count = 0
    with tarfile.open(fileobj=buffer, mode="r:") as archive:
        # Student content is untrusted: the data filter refuses links out, devices, absolute paths.
        members = archive.getmembers()
        archive.extractall(target, filter="data")
        count = sum(1 for member in members if member.isfile())
    return count


class _BinaryWriter(io.TextIOBase):
    """invoke decodes the remote stream; latin-1 maps each byte to one character, so writing
    them back as latin-1 restores the tar bytes exactly."""

    def __init__(self, sink: io.BytesIO) -> None:
        self.sink = sink

    def write(self, text: str) -> int:
        self.sink.write(text.encode("latin-1"))
        return len(text)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
