"""What the student pushed to the lab registry (exam 001's registry points, 004's last one):
the repository and its tags, and the `hub_url` label of the image."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from labdock.errors import RegistryError, RegistryNotFound
from labdock.grade.context import Context, Lost, kept
from labdock.registry import DOCKER_MANIFEST, MANIFEST_TYPES, OCI_MANIFEST

# A version tag: 1, 1.0, v2.3.1, 1.0-rc1 (not `latest`, not a bare word).
VERSION_TAG = re.compile(r"^v?\d+(\.\d+)*([-+_.][0-9A-Za-z.]+)?$")


def registry_repository(ctx: Context, params: Mapping[str, Any]) -> str:
    """The repository has tags; with `catalog: true`, the registry's _catalog lists it too."""
    repository, tags = _pushed(ctx, params["repository"])
    if not params.get("catalog"):
        return f"{repository}: {', '.join(sorted(tags))}"
    try:
        listed = repository in _registry(ctx).catalog()
    except RegistryError as exc:
        raise Lost(f"registry _catalog: {exc}") from None
    if not listed:
        raise Lost(f"{repository} has tags but _catalog does not list it")
    return f"_catalog lists {repository}: {', '.join(sorted(tags))}"


def registry_tags(ctx: Context, params: Mapping[str, Any]) -> str:
    repository, tags = _pushed(ctx, params["repository"])
    versions = sorted(t for t in tags if VERSION_TAG.match(t))
    if "latest" not in tags:
        raise Lost(f"{repository} has no `latest` tag ({', '.join(sorted(tags))})")
    if not versions:
        raise Lost(f"{repository} has no version tag, only {', '.join(sorted(tags))}")
    return f"{repository}: latest and {', '.join(versions)}"


def hub_url_label(ctx: Context, params: Mapping[str, Any]) -> str:
    """The image built from the folder's Dockerfile (as the compose file builds it) carries
    `hub_url` naming the student's repository; if it does not build, the pushed image's."""
    try:
        repository, _ = _pushed(ctx, params["repository"])
    except Lost:
        repository = ctx.repository(_names(params["repository"])[0])
    built = ctx.build(params["context"], params.get("compose_file"))
    if built.tag is not None:
        labels = ctx.sandbox.client.images.get(built.tag).labels or {}
        source = f"image built from {params['context']}/Dockerfile"
    else:
        try:
            labels = _pushed_labels(ctx, repository)
        except Lost as none_pushed:
            raise Lost(f"{built.error}; {none_pushed}") from None
        source = f"{repository}:latest in the registry ({built.error})"
    value = labels.get("hub_url")
    if not value:
        raise Lost(f"no hub_url label on the {source}")
    if repository.lower() not in value.lower():
        raise Lost(f"hub_url={value} does not name {repository}")
    return f"hub_url={value}"


def _names(names: str | list[str]) -> list[str]:
    return [names] if isinstance(names, str) else list(names)


def _registry(ctx: Context) -> Any:
    if ctx.registry is None:
        raise Lost("no registry connection")
    return ctx.registry


def _pushed(ctx: Context, names: str | list[str]) -> tuple[str, list[str]]:
    """The student's repository and its tags: the first of the accepted names (the course's
    name first, then alternatives a grid accepts) that the registry has."""
    candidates = [ctx.repository(name) for name in _names(names)]
    reasons: list[Lost] = []
    for repository in candidates:
        try:
            return repository, _tags(ctx, repository)
        except Lost as absent:
            reasons.append(absent)
    # None is there: the course's name's reason is the one shown.
    raise reasons[0]


def _tags(ctx: Context, repository: str) -> list[str]:
    registry = _registry(ctx)

    def fetch() -> list[str] | Lost:
        try:
            tags = registry.tags(repository)
        except RegistryNotFound:
            return Lost(f"{repository} is not in the registry")
        except RegistryError as exc:
            return Lost(f"registry: {exc}")
        return tags or Lost(f"{repository} is in the registry with no tag")

    return kept(ctx.once(f"tags:{repository}", fetch))


def _pushed_labels(ctx: Context, repository: str) -> dict[str, str]:
    registry = _registry(ctx)
    try:
        manifest = _manifest(registry, repository, "latest")
        config = registry.request(
            "GET", f"/v2/{repository}/blobs/{manifest['config']['digest']}"
        ).json()
    except RegistryNotFound:
        raise Lost(f"{repository}:latest is not in the registry") from None
    except (RegistryError, ValueError, KeyError) as exc:
        raise Lost(f"cannot read {repository}:latest: {exc}") from None
    return (config.get("config") or {}).get("Labels") or {}


def _manifest(registry: Any, repository: str, reference: str) -> dict[str, Any]:
    manifest = registry.request(
        "GET",
        f"/v2/{repository}/manifests/{reference}",
        headers={"Accept": ", ".join(MANIFEST_TYPES)},
    ).json()
    if manifest.get("mediaType") in (DOCKER_MANIFEST, OCI_MANIFEST) or "config" in manifest:
        return manifest
    # An index: the first image of it (course images are single-platform).
    return _manifest(registry, repository, manifest["manifests"][0]["digest"])


CHECKS = (registry_repository, registry_tags, hub_url_label)
