"""The container layer watch: which listed containers it kills, and what it says."""

from __future__ import annotations

import time
from typing import Any

import docker.errors
import requests

from labdock.grade.layerwatch import MB, LayerWatch


class _Api:
    def __init__(self, listed: list[dict[str, Any]] | Exception) -> None:
        self.listed = listed
        self.asked: dict[str, Any] = {}
        self.killed: list[str] = []

    def containers(self, **asked: Any) -> list[dict[str, Any]]:
        self.asked = asked
        if isinstance(self.listed, Exception):
            raise self.listed
        return self.listed

    def kill(self, container_id: str) -> None:
        if container_id == "gone":
            raise docker.errors.NotFound("no such container")
        self.killed.append(container_id)


class _Client:
    def __init__(self, api: _Api) -> None:
        self.api = api


def _row(
    cid: str, written: int | None, state: str = "running", service: str | None = None
) -> dict[str, Any]:
    labels = {"com.docker.compose.service": service} if service else {}
    return {
        "Id": cid,
        "Names": [f"/p-{cid}-1"],
        "State": state,
        "SizeRw": written,
        "Labels": labels,
    }


def _watch(api: _Api) -> LayerWatch:
    labels = {"labdock.grade.run": "r1", "labdock.grade.student": "alice"}
    return LayerWatch(_Client(api), labels, 256 * MB, "256 MB")  # type: ignore[arg-type]


def test_a_running_container_past_the_limit_is_killed_and_named() -> None:
    api = _Api(
        [
            _row("web", 300 * MB, service="web"),
            _row("small", 10 * MB),
            _row("ended", 900 * MB, state="exited"),
            _row("probe", None),
            _row("gone", 400 * MB),
            _row("app", 257 * MB, state="restarting"),
        ]
    )
    watch = _watch(api)
    watch.look()
    assert api.asked == {
        "all": True,
        "size": True,
        "filters": {"label": ["labdock.grade.run=r1", "labdock.grade.student=alice"]},
    }
    assert api.killed == ["web"]
    assert watch.notes == {
        "p-web-1": "web wrote 300 MB to its container layer, over the 256 MB limit: stopped"
    }
    assert watch.note("p-small-1") is None


def test_an_engine_that_does_not_answer_is_asked_again_later() -> None:
    for error in (docker.errors.APIError("busy"), requests.exceptions.ReadTimeout()):
        watch = _watch(_Api(error))
        watch.look()
        assert watch.notes == {}


def test_the_thread_stops_when_asked() -> None:
    api = _Api([_row("web", 300 * MB, service="web")])
    watch = _watch(api)
    watch.interval = 0.01
    watch.start()
    deadline = time.monotonic() + 5
    while not api.killed and time.monotonic() < deadline:
        time.sleep(0.01)
    watch.stop()
    assert api.killed == ["web"]
    assert watch._thread is None


class _BuildApi(_Api):
    """Lists the one intermediate container of a RUN step when asked by id, nothing else."""

    def __init__(self, step: dict[str, Any]) -> None:
        super().__init__([])
        self.step = step
        self.asked_ids: list[list[str]] = []

    def containers(self, **asked: Any) -> list[dict[str, Any]]:
        ids = asked["filters"].get("id")
        if ids is None:
            return []
        self.asked_ids.append(ids)
        return [self.step]


def test_a_build_step_past_the_limit_is_killed_and_its_build_told_why() -> None:
    api = _BuildApi(_row("0123456789abcdef", 300 * MB))
    watch = _watch(api)
    watch.look()
    assert api.asked_ids == []  # No build under way: no listing by id.
    watch.watch_build("0123456789ab")
    watch.look()
    assert api.asked_ids == [["0123456789ab"]]
    assert api.killed == ["0123456789abcdef"]
    assert (
        watch.forget_build("0123456789ab")
        == "its RUN step wrote 300 MB, over the 256 MB limit: stopped"
    )
    watch.look()
    assert api.asked_ids == [["0123456789ab"]]  # Forgotten: not listed again.


def test_a_build_step_within_the_limit_runs_on() -> None:
    api = _BuildApi(_row("0123456789abcdef", 200 * MB))
    watch = _watch(api)
    watch.watch_build("0123456789ab")
    watch.look()
    assert api.killed == []
    assert watch.forget_build("0123456789ab") is None
