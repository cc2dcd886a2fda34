"""Sandbox.build's reading of the engine's build stream, the engine faked: which failures are
the student's, which are retried, and what a RUN step stopped by the layer watch says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from labdock.grade.sandbox import Sandbox

LOST_CACHE = (
    "failed to get digest sha256:3f6e: open /var/lib/docker/image/fuse-overlayfs/imagedb/"
    "content/sha256/3f6e: no such file or directory"
)


class _Engine:
    """Answers each build with the next scripted stream; counts the builds."""

    def __init__(self, streams: list[list[dict[str, Any]]]) -> None:
        self.streams = streams
        self.builds = 0
        self.api = self

    def build(self, **_: Any) -> Iterator[dict[str, Any]]:
        self.builds += 1
        return iter(self.streams.pop(0))

    def close(self) -> None:
        pass


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    (tmp_path / "api").mkdir()
    return Sandbox(None, "r1", "alice", tmp_path)  # type: ignore[arg-type]


def _engine(monkeypatch: pytest.MonkeyPatch, *streams: list[dict[str, Any]]) -> _Engine:
    engine = _Engine(list(streams))
    monkeypatch.setattr(docker, "from_env", lambda **_: engine)
    return engine


def test_an_image_lost_under_the_build_is_built_again(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(monkeypatch, [{"error": LOST_CACHE}], [{"stream": "Successfully built"}])
    assert sandbox.build(sandbox.root / "api", "api") == "grade-r1-alice/api:graded"
    assert engine.builds == 2


def test_the_students_own_failure_is_not_retried(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = "The command '/bin/sh -c false' returned a non-zero code: 1"
    engine = _engine(monkeypatch, [{"error": failed}], [{"stream": "Successfully built"}])
    with pytest.raises(docker.errors.BuildError, match="non-zero code: 1"):
        sandbox.build(sandbox.root / "api", "api")
    assert engine.builds == 1


def test_a_run_step_the_layer_watch_stopped_fails_for_that_reason(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped = "its RUN step wrote 300 MB, over the 256 MB limit: stopped"
    watched: list[str] = []
    watch_build = sandbox.layers.watch_build

    def stop_the_step(container_id: str) -> None:
        # What the watch thread does to a step past the limit: the note, then the kill.
        watch_build(container_id)
        watched.append(container_id)
        sandbox.layers.notes[container_id] = stopped

    monkeypatch.setattr(sandbox.layers, "watch_build", stop_the_step)
    _engine(
        monkeypatch,
        [
            {"stream": "Step 3/4 : RUN python3 fill.py\n"},
            {"stream": " ---> Running in 0123456789ab\n"},
            {"error": "The command '/bin/sh -c python3 fill.py' returned a non-zero code: 137"},
        ],
    )
    with pytest.raises(docker.errors.BuildError) as raised:
        sandbox.build(sandbox.root / "api", "api")
    assert raised.value.msg == stopped
    assert watched == ["0123456789ab"]
    assert sandbox.layers._builds == set()  # Forgotten once its build ended.
