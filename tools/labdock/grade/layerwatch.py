"""What a student's containers write to their container layer, bounded while they run.

A writable root filesystem is the container's layer, on the engine's disk. The engine here
uses the fuse-overlayfs storage driver, which has no size quota (`storage_opt: size=` needs
overlay2 on xfs with pquota), so a thread lists the student's containers with their layer's
size (`GET /containers/json?size=true`, `SizeRw`) every few seconds and kills one that wrote
more than the limit. Each kill is kept as a note that the checks add to the evidence of the
container that is no longer running.

A build's RUN steps write to an intermediate container of the classic builder, which carries
no label of ours: the build names it in its output (`Running in <id>`), and the build
registers that id here for the time of the step (watch_build), so a RUN step that fills the
disk is stopped the same way, and its build fails with the note as its reason.

The limit is checked, not enforced by the kernel: a container may write for up to one
interval and one listing past it (the engine computes SizeRw by walking the layer, about
0.5 s per container on this engine), which is what the interval weighs against.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import docker
import docker.errors
import requests

# Seconds between the end of one listing and the next.
INTERVAL = 2.0
MB = 1 << 20


class LayerWatch:
    """Kills any container carrying all of `labels` whose layer grew past `limit` bytes
    (`shown`: the limit as the evidence names it), from start() until stop()."""

    def __init__(
        self,
        client: docker.DockerClient,
        labels: Mapping[str, str],
        limit: int,
        shown: str,
        interval: float = INTERVAL,
    ) -> None:
        self.client = client
        self.selector = {"label": [f"{key}={value}" for key, value in labels.items()]}
        self.limit = limit
        self.shown = shown
        self.interval = interval
        # Container name -> what happened to it; read by the checks while the thread writes.
        self.notes: dict[str, str] = {}
        # The ids of the build steps' intermediate containers, while they run.
        self._builds: set[str] = set()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # A daemon thread: an interrupted run never waits for it to notice.
        self._thread = threading.Thread(target=self._run, name="layer-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def note(self, container_name: str) -> str | None:
        return self.notes.get(container_name)

    def watch_build(self, container_id: str) -> None:
        """Watch a build's intermediate container (its id as the build printed it) too."""
        self._builds.add(container_id)

    def forget_build(self, container_id: str) -> str | None:
        """Stop watching it; the note, if it was stopped."""
        self._builds.discard(container_id)
        return self.notes.get(container_id)

    def _run(self) -> None:
        while not self._done.is_set():
            self.look()
            self._done.wait(self.interval)

    def look(self) -> None:
        """One listing (two while a build runs), and a kill for each running container over
        the limit."""
        for row in self._listed(self.selector):
            name = (row.get("Names") or ["/?"])[0].lstrip("/")
            service = (row.get("Labels") or {}).get("com.docker.compose.service") or name
            self._stop_if_over(row, name, service + " wrote {} MB to its container layer")
        builds = set(self._builds)  # A copy: builds register and forget meanwhile.
        if builds:
            # The id filter matches the start of an id: the 12 characters the build printed.
            for row in self._listed({"id": list(builds)}):
                short = next((key for key in builds if row["Id"].startswith(key)), None)
                if short is not None:
                    self._stop_if_over(row, short, "its RUN step wrote {} MB")

    def _listed(self, filters: dict[str, list[str]]) -> list[dict]:
        try:
            return self.client.api.containers(all=True, size=True, filters=filters)
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            return []  # A busy engine, or the run being removed: look again at the next tick.

    def _stop_if_over(self, row: dict, key: str, wrote: str) -> None:
        written = row.get("SizeRw") or 0
        if row.get("State") != "running" or written <= self.limit:
            return
        # Noted before the kill: whoever sees the container end reads why at once.
        self.notes[key] = f"{wrote.format(written // MB)}, over the {self.shown} limit: stopped"
        try:
            # SIGKILL marks it stopped by hand: a restart policy does not bring it back.
            self.client.api.kill(row["Id"])
        except docker.errors.APIError:
            del self.notes[key]  # Gone, or it ended by itself meanwhile.
