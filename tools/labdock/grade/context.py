"""One submission being graded: its folder, its registry namespace, its sandbox, and what the
checks share (the compose model, built images, the chat run), each computed once.

The probe API the checks are written against: a check returns its evidence when the
criterion is earned and raises `Lost` (the evidence of why not) when it is not; every probe
here (the compose model, a build, a running container...) raises `Lost` the same way, so a
check reads as the steps a teacher takes. Anything else a check raises is a grader fault."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import docker.errors

from labdock.grade.sandbox import ComposeError, Sandbox
from labdock.registry import RegistryClient

T = TypeVar("T")


class Lost(Exception):
    """The criterion is not earned; the message is the evidence shown to the student."""


# SPEC: students push to <registry>/<student>/<image>:<tag>.
DEFAULT_NAMESPACE = "{name}"


@dataclass(frozen=True)
class Submission:
    name: str
    root: Path
    namespace: str

    @classmethod
    def from_folder(
        cls, folder: Path, namespace_pattern: str = DEFAULT_NAMESPACE, name: str | None = None
    ) -> Submission:
        """The student is `name`, else the folder's name (a clone's or a room host's folder
        is not named for its student)."""
        name = name or folder.resolve().name
        # Absolute: compose runs in the folder, and a relative path would be read from there.
        return cls(name=name, root=folder.resolve(), namespace=namespace_pattern.format(name=name))


@dataclass(frozen=True)
class Built:
    """A service's image build: the tag, or why it failed."""

    tag: str | None
    error: str | None

    def require(self) -> str:
        """The tag; a failed build loses the criterion that needs the image."""
        if self.tag is None:
            raise Lost(str(self.error))
        return self.tag


class Context:
    def __init__(
        self, submission: Submission, sandbox: Sandbox, registry: RegistryClient | None
    ) -> None:
        self.submission = submission
        self.sandbox = sandbox
        self.registry = registry
        self._memo: dict[str, Any] = {}

    @property
    def root(self) -> Path:
        return self.submission.root

    def repository(self, name: str) -> str:
        return f"{self.submission.namespace}/{name}"

    def once(self, key: str, compute: Callable[[], T]) -> T:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def compose_file(self, relative: str) -> Path | None:
        """The named compose file, or its twin with the other extension (.yaml / .yml)."""
        path = self.root / relative
        if path.is_file():
            return path
        twin = path.with_suffix(".yml" if path.suffix == ".yaml" else ".yaml")
        return twin if twin.is_file() else None

    def compose_model(self, relative: str) -> dict[str, Any]:
        """Compose's own reading of the file; raises Lost with the reason it could not be
        read (read once: the reason is kept too)."""

        def read() -> dict[str, Any] | Lost:
            path = self.compose_file(relative)
            if path is None:
                return Lost(f"{relative} is missing")
            try:
                return self.sandbox.compose_model(path)
            except ComposeError as exc:
                return Lost(f"{path.name}: {exc}")

        return kept(self.once(f"compose:{relative}", read))

    def service_for_context(self, model: Mapping[str, Any], context: str) -> str | None:
        """The service whose build context is that folder of the submission."""
        wanted = (self.root / context).resolve()
        for name, service in (model.get("services") or {}).items():
            build = service.get("build") or {}
            if build.get("context") and Path(build["context"]).resolve() == wanted:
                return name
        return None

    def build(self, context: str, compose_relative: str | None = None) -> Built:
        """Build a folder of the submission once, whichever check asks first: with the build
        arguments, Dockerfile and target of the compose service that builds it, if any."""

        def run() -> Built:
            spec: Mapping[str, Any] = {}
            if compose_relative:
                with contextlib.suppress(Lost):
                    model = self.compose_model(compose_relative)
                    service = self.service_for_context(model, context)
                    if service is not None:
                        spec = model["services"][service]["build"]
            # A folder with no Dockerfile fails now, in one line: the engine would first be
            # sent the whole folder (`labdock grade 002 /etc` waited for the build timeout).
            names = [spec["dockerfile"]] if spec.get("dockerfile") else ["Dockerfile", "dockerfile"]
            if not any((self.root / context / name).is_file() for name in names):
                return Built(None, f"build of {context}/ failed: no {names[0]} in {context}/")
            try:
                tag = self.sandbox.build(
                    self.root / context,
                    context,
                    dockerfile=spec.get("dockerfile"),
                    args={k: str(v) for k, v in (spec.get("args") or {}).items() if v is not None},
                    target=spec.get("target"),
                )
            except docker.errors.BuildError as exc:
                return Built(None, f"build of {context}/ failed: {_first_line(exc.msg)}")
            except (docker.errors.APIError, ComposeError) as exc:
                return Built(None, f"build of {context}/ failed: {_first_line(_api_reason(exc))}")
            return Built(tag, None)

        return self.once(f"build:{context}", run)

    def build_services(
        self, model: Mapping[str, Any], compose_relative: str
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Build every service of the compose model that has a build section, as Compose
        would: the image tag of each that built, and why each other one did not."""
        built: dict[str, str] = {}
        failed: dict[str, str] = {}
        for name, service in (model.get("services") or {}).items():
            if not service.get("build"):
                continue
            context = Path(service["build"]["context"]).resolve()
            if not context.is_relative_to(self.root.resolve()):
                failed[name] = f"{name} builds from {context}, outside the submission"
                continue
            outcome = self.build(str(context.relative_to(self.root.resolve())), compose_relative)
            if outcome.tag is None:
                failed[name] = str(outcome.error)
            else:
                built[name] = outcome.tag
        return built, failed


def kept(outcome: T | Lost) -> T:
    """A memoised outcome: the value, or the kept reason raised again."""
    if isinstance(outcome, Lost):
        raise Lost(str(outcome))
    return outcome


def poll(condition: Callable[[], T], timeout: float, interval: float = 0.25) -> T:
    """Call `condition` until it returns something truthy or `timeout` seconds passed; its
    last value either way."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def _api_reason(exc: Exception) -> str:
    if isinstance(exc, docker.errors.APIError):
        return str(exc.explanation or exc)
    return str(exc)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0][:200] if lines else "no message"
