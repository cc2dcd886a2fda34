"""`labdock verify`'s note on the registry UI, on a fake engine: absent with the reason,
never a failed check."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import docker.errors

from labdock.stackcheck.registry_ui import WORKING_DIR_LABEL, ui_note

PROJECT = "labdock-registry"
UI_IMAGE = "joxit/docker-registry-ui:2.5.7"


class FakeEngine:
    def __init__(self, containers: list[Any], images: set[str]) -> None:
        self.containers = SimpleNamespace(list=lambda **_: containers)
        self.images = SimpleNamespace(get=self._get)
        self._images = images

    def _get(self, name: str) -> object:
        if name not in self._images:
            raise docker.errors.ImageNotFound(name)
        return object()


def container(service: str, folder: Path, status: str = "running", health: str = "healthy"):
    return SimpleNamespace(
        name=f"{PROJECT}-{service}-1",
        status=status,
        attrs={"State": {"Health": {"Status": health}}},
        labels={"com.docker.compose.service": service, WORKING_DIR_LABEL: str(folder)},
    )


def deployed(tmp_path: Path, profiles: str) -> Path:
    (tmp_path / ".env").write_text(
        f"COMPOSE_PROFILES={profiles}\nREGISTRY_UI_IMAGE={UI_IMAGE}\nREGISTRY_UI_PORT=8080\n"
    )
    return tmp_path


def test_ui_skipped_for_a_missing_image_names_the_image_and_what_to_do(tmp_path: Path) -> None:
    engine = FakeEngine([container("registry", deployed(tmp_path, ""))], images=set())
    assert ui_note(engine, PROJECT) == (
        f"registry UI: not deployed: image {UI_IMAGE} is not in the engine; load it with "
        "`docker load` from an offline bundle, then run playbooks/registry.yml"
    )


def test_ui_image_loaded_since_says_to_rerun_the_registry_play(tmp_path: Path) -> None:
    engine = FakeEngine([container("registry", deployed(tmp_path, ""))], images={UI_IMAGE})
    assert "run playbooks/registry.yml" in ui_note(engine, PROJECT)


def test_unreadable_env_still_says_the_ui_is_absent(tmp_path: Path) -> None:
    engine = FakeEngine([container("registry", tmp_path / "absent")], images=set())
    assert ui_note(engine, PROJECT) == (
        "registry UI: not deployed (see the summary at the end of `make site`)"
    )


def test_running_ui_and_no_registry_say_nothing(tmp_path: Path) -> None:
    folder = deployed(tmp_path, "ui")
    up = FakeEngine([container("registry", folder), container("ui", folder)], images={UI_IMAGE})
    assert ui_note(up, PROJECT) is None
    assert ui_note(FakeEngine([], images=set()), PROJECT) is None


def test_unhealthy_ui_is_named(tmp_path: Path) -> None:
    folder = deployed(tmp_path, "ui")
    ui = container("ui", folder, health="unhealthy")
    engine = FakeEngine([container("registry", folder), ui], images={UI_IMAGE})
    assert ui_note(engine, PROJECT) == f"registry UI: container {PROJECT}-ui-1 is unhealthy"
