"""What the repository holds (exam 001's first six points): delivered files, the readme's
commands, the compose files, the last commit."""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from labdock.grade.context import Context, Lost
from labdock.stackcheck.discovery import image_name

MAX_TEXT_BYTES = 1 << 20


def file_present(ctx: Context, params: Mapping[str, Any]) -> str:
    path = ctx.root / params["path"]
    if not path.is_file():
        raise Lost(f"{params['path']} is missing")
    if path.stat().st_size == 0:
        raise Lost(f"{params['path']} is empty")
    return f"{params['path']} delivered ({path.stat().st_size} bytes)"


def text_matches(ctx: Context, params: Mapping[str, Any]) -> str:
    """Every named pattern (a case-insensitive regex) occurs in the file, at least `times`
    times when the pattern is given as {pattern, times}."""
    text = read_text(ctx.root, params["path"])
    found: list[str] = []
    missing: list[str] = []
    for name, spec in params["patterns"].items():
        pattern, times = (spec, 1) if isinstance(spec, str) else (spec["pattern"], spec["times"])
        matches = [m.group(0).strip() for m in re.finditer(pattern, text, re.IGNORECASE)]
        if len(matches) < times:
            missing.append(name)
        found.extend(matches[:times])
    if missing:
        raise Lost(f"{params['path']} lacks: {', '.join(missing)}")
    return "; ".join(f"`{line}`" for line in found)


def compose_builds(ctx: Context, params: Mapping[str, Any]) -> str:
    """The compose file builds an image from each of the given folders."""
    model = ctx.compose_model(params["compose_file"])
    found = {context: ctx.service_for_context(model, context) for context in params["contexts"]}
    missing = [context for context, service in found.items() if service is None]
    if missing:
        raise Lost(f"{params['compose_file']} builds nothing from {', '.join(missing)}/")
    return ", ".join(f"{service} builds {context}/" for context, service in found.items())


def registry_compose(ctx: Context, params: Mapping[str, Any]) -> str:
    """Another compose file of the repository runs every repository from a registry image,
    with no build at all."""
    build_file = ctx.compose_file(params["compose_file"])
    repositories = list(params["repositories"])
    reasons = []
    for path in sorted(ctx.root.glob("*.y*ml")) + sorted(ctx.root.glob("*/*.y*ml")):
        if path == build_file or ".git" in path.parts:
            continue
        services = _compose_services(path)
        if not services:
            continue
        relative = path.relative_to(ctx.root)
        builders = [name for name, spec in services.items() if "build" in spec]
        images = [str(spec.get("image") or "") for spec in services.values()]
        missing = [r for r in repositories if not any(_image_is(image, r) for image in images)]
        if builders:
            reasons.append(f"{relative} builds {', '.join(builders)}")
        elif missing:
            reasons.append(f"{relative} has no registry image for {', '.join(missing)}")
        else:
            return f"{relative}: {', '.join(images)}, no build"
    raise Lost("; ".join(reasons) or "no compose file besides the build one")


def git_committed(ctx: Context, params: Mapping[str, Any]) -> str:
    """A git repository whose last commit holds the delivered files as they are on disk."""
    present = [p for p in params["paths"] if (ctx.root / p).is_file()]
    committed = _committed_blobs(ctx.root, present)
    missing = [p for p in present if p not in committed]
    changed = [p for p in present if p in committed and committed[p] != _blob_id(ctx.root / p)]
    parts = []
    if missing:
        parts.append(f"not committed: {', '.join(missing)}")
    if changed:
        parts.append(f"changed since the last commit: {', '.join(changed)}")
    if parts:
        raise Lost("; ".join(parts))
    return f"git repository, {len(present)} delivered files committed"


def read_text(root: Path, relative: str) -> str:
    """A file of the submission as text (its first MiB); Lost when it is missing."""
    path = root / relative
    if not path.is_file():
        raise Lost(f"{relative} is missing")
    return path.read_bytes()[:MAX_TEXT_BYTES].decode(errors="replace")


def _compose_services(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_bytes()[:MAX_TEXT_BYTES])
    except yaml.YAMLError:
        return {}
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        return {}
    return {name: spec for name, spec in services.items() if isinstance(spec, dict)}


def _image_is(reference: str, repository: str) -> bool:
    """`<registry>/<namespace>/socket_server:1.0` is socket_server from a registry."""
    # A tag cannot hold "/": any "/" before the digest is a registry or namespace part.
    return "/" in reference.split("@", 1)[0] and image_name(reference) == repository


def _committed_blobs(root: Path, paths: list[str]) -> dict[str, str]:
    # Plumbing only, with the repository's fsmonitor off: porcelain commands such as
    # `git status` would run filters and hooks the student's .git/config names.
    command = [
        "git",
        "-c",
        "core.fsmonitor=false",
        "-c",
        f"safe.directory={root.resolve()}",
        "-C",
        str(root),
        "ls-tree",
        "-r",
        "HEAD",
        "--",
        *paths,
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Lost(f"cannot run git: {exc}") from None
    if result.returncode != 0:
        raise Lost("not a git repository with a commit")
    blobs = {}
    for line in result.stdout.splitlines():
        meta, _, name = line.partition("\t")
        blobs[name] = meta.split()[2]
    return blobs


def _blob_id(path: Path) -> str:
    """git's id for the file's bytes, computed here so no git filter runs."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


CHECKS = (file_present, text_matches, compose_builds, registry_compose, git_committed)
