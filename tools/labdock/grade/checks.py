"""The checks a grid can name: `check: <name>` with `with: {parameters}`. Each takes the
submission's context and its parameters and answers (passed, one line of evidence)."""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from labdock.errors import RegistryError, RegistryNotFound
from labdock.grade import chat
from labdock.grade.context import Context, Outcome
from labdock.registry import DOCKER_MANIFEST, MANIFEST_TYPES, OCI_MANIFEST

Check = Callable[[Context, Mapping[str, Any]], Outcome]
# A version tag: 1, 1.0, v2.3.1, 1.0-rc1 (not `latest`, not a bare word).
VERSION_TAG = re.compile(r"^v?\d+(\.\d+)*([-+_.][0-9A-Za-z.]+)?$")
MAX_TEXT_BYTES = 1 << 20


# -- repository ------------------------------------------------------------------------------


def file_present(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    path = ctx.root / params["path"]
    if not path.is_file():
        return False, f"{params['path']} is missing"
    if path.stat().st_size == 0:
        return False, f"{params['path']} is empty"
    return True, f"{params['path']} delivered ({path.stat().st_size} bytes)"


def text_matches(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """Every named pattern (a case-insensitive regex) occurs in the file."""
    path = ctx.root / params["path"]
    if not path.is_file():
        return False, f"{params['path']} is missing"
    text = path.read_bytes()[:MAX_TEXT_BYTES].decode(errors="replace")
    found: dict[str, str] = {}
    for name, pattern in params["patterns"].items():
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            found[name] = match.group(0).strip()
    missing = [name for name in params["patterns"] if name not in found]
    if missing:
        return False, f"{params['path']} lacks: {', '.join(missing)}"
    return True, "; ".join(f"`{line}`" for line in found.values())


def compose_builds(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """The compose file builds an image from each of the given folders."""
    model = ctx.compose_model(params["compose_file"])
    if isinstance(model, str):
        return False, model
    found = {context: ctx.service_for_context(model, context) for context in params["contexts"]}
    missing = [context for context, service in found.items() if service is None]
    if missing:
        return False, f"{params['compose_file']} builds nothing from {', '.join(missing)}/"
    return True, ", ".join(f"{service} builds {context}/" for context, service in found.items())


def registry_compose(ctx: Context, params: Mapping[str, Any]) -> Outcome:
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
            return True, f"{relative}: {', '.join(images)}, no build"
    if not reasons:
        return False, "no compose file besides the build one"
    return False, "; ".join(reasons)


def git_committed(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """A git repository whose last commit holds the delivered files as they are on disk."""
    present = [p for p in params["paths"] if (ctx.root / p).is_file()]
    committed = _committed_blobs(ctx.root, present)
    if isinstance(committed, str):
        return False, committed
    missing = [p for p in present if p not in committed]
    changed = [p for p in present if p in committed and committed[p] != _blob_id(ctx.root / p)]
    if missing or changed:
        parts = []
        if missing:
            parts.append(f"not committed: {', '.join(missing)}")
        if changed:
            parts.append(f"changed since the last commit: {', '.join(changed)}")
        return False, "; ".join(parts)
    return True, f"git repository, {len(present)} delivered files committed"


# -- registry --------------------------------------------------------------------------------


def registry_repository(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    repository = ctx.repository(params["repository"])
    tags = _tags(ctx, repository)
    if isinstance(tags, str):
        return False, tags
    return True, f"{repository}: {', '.join(sorted(tags))}"


def registry_tags(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    repository = ctx.repository(params["repository"])
    tags = _tags(ctx, repository)
    if isinstance(tags, str):
        return False, tags
    versions = sorted(t for t in tags if VERSION_TAG.match(t))
    if "latest" not in tags:
        return False, f"{repository} has no `latest` tag ({', '.join(sorted(tags))})"
    if not versions:
        return False, f"{repository} has no version tag, only {', '.join(sorted(tags))}"
    return True, f"{repository}: latest and {', '.join(versions)}"


def hub_url_label(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    """The image built from the folder's Dockerfile (as the compose file builds it) carries
    `hub_url` naming the student's repository; if it does not build, the pushed image's."""
    repository = ctx.repository(params["repository"])
    built = ctx.build(params["context"], params.get("compose_file"))
    if built.tag is not None:
        labels = ctx.sandbox.client.images.get(built.tag).labels or {}
        source = f"image built from {params['context']}/Dockerfile"
    else:
        pushed = _pushed_labels(ctx, repository)
        if isinstance(pushed, str):
            return False, f"{built.error}; {pushed}"
        labels, source = pushed, f"{repository}:latest in the registry ({built.error})"
    value = labels.get("hub_url")
    if not value:
        return False, f"no hub_url label on the {source}"
    if repository.lower() not in value.lower():
        return False, f"hub_url={value} does not name {repository}"
    return True, f"hub_url={value}"


# -- socket chat POC -------------------------------------------------------------------------


def chat_started(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    return chat.chat_run(ctx, params).started


def chat_terminal(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    return chat.chat_run(ctx, params).terminals[params["side"]]


def chat_hello(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    return chat.chat_run(ctx, params).hello[params["typed_on"]]


def chat_bye(ctx: Context, params: Mapping[str, Any]) -> Outcome:
    return chat.chat_run(ctx, params).bye


# -- helpers ---------------------------------------------------------------------------------


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
    path = reference.split("@", 1)[0]
    if ":" in path.rsplit("/", 1)[-1]:
        path = path.rsplit(":", 1)[0]
    return "/" in path and path.rsplit("/", 1)[-1] == repository


def _committed_blobs(root: Path, paths: list[str]) -> dict[str, str] | str:
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
        return f"cannot run git: {exc}"
    if result.returncode != 0:
        return "not a git repository with a commit"
    blobs = {}
    for line in result.stdout.splitlines():
        meta, _, name = line.partition("\t")
        blobs[name] = meta.split()[2]
    return blobs


def _blob_id(path: Path) -> str:
    """git's id for the file's bytes, computed here so no git filter runs."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _tags(ctx: Context, repository: str) -> list[str] | str:
    if ctx.registry is None:
        return "no registry connection"

    def fetch() -> list[str] | str:
        try:
            tags = ctx.registry.tags(repository)
        except RegistryNotFound:
            return f"{repository} is not in the registry"
        except RegistryError as exc:
            return f"registry: {exc}"
        return tags or f"{repository} is in the registry with no tag"

    return ctx.once(f"tags:{repository}", fetch)


def _pushed_labels(ctx: Context, repository: str) -> dict[str, str] | str:
    if ctx.registry is None:
        return "no registry connection"
    try:
        manifest = _manifest(ctx, repository, "latest")
        config = ctx.registry.request(
            "GET", f"/v2/{repository}/blobs/{manifest['config']['digest']}"
        ).json()
    except RegistryNotFound:
        return f"{repository}:latest is not in the registry"
    except (RegistryError, ValueError, KeyError) as exc:
        return f"cannot read {repository}:latest: {exc}"
    return (config.get("config") or {}).get("Labels") or {}


def _manifest(ctx: Context, repository: str, reference: str) -> dict[str, Any]:
    assert ctx.registry is not None
    manifest = ctx.registry.request(
        "GET",
        f"/v2/{repository}/manifests/{reference}",
        headers={"Accept": ", ".join(MANIFEST_TYPES)},
    ).json()
    if manifest.get("mediaType") in (DOCKER_MANIFEST, OCI_MANIFEST) or "config" in manifest:
        return manifest
    # An index: the first image of it (course images are single-platform).
    return _manifest(ctx, repository, manifest["manifests"][0]["digest"])


CHECKS: dict[str, Check] = {
    check.__name__: check
    for check in (
        file_present,
        text_matches,
        compose_builds,
        registry_compose,
        git_committed,
        registry_repository,
        registry_tags,
        hub_url_label,
        chat_started,
        chat_terminal,
        chat_hello,
        chat_bye,
    )
}
