"""What a student's containers write to their container layer, bounded while they run.

A writable root filesystem is the container's layer, on the engine's disk. The engine here
uses the fuse-overlayfs storage driver, which has no size quota (`storage_opt: size=` needs
overlay2 on xfs with pquota), so a thread lists the student's containers with their layer's
size (`GET /containers/json?size=true`, `SizeRw`) every few seconds and kills one that wrote
more than the limit. Each kill is kept as a note that the checks add to the evidence of the
container that is no longer running.

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

    def _run(self) -> None:
        while not self._done.is_set():
            self.look()
            self._done.wait(self.interval)

    def look(self) -> None:
        """One listing, and a kill for each running container over the limit."""
        try:
            listed = self.client.api.containers(all=True, size=True, filters=self.selector)
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            return  # A busy engine, or the run being removed: look again at the next tick.
        for row in listed:
            written = row.get("SizeRw") or 0
            if row.get("State") != "running" or written <= self.limit:
                continue
            name = (row.get("Names") or ["/?"])[0].lstrip("/")
            try:
                # SIGKILL marks it stopped by hand: a restart policy does not bring it back.
                self.client.api.kill(row["Id"])
            except docker.errors.APIError:
                continue  # Gone, or it ended by itself meanwhile.
            service = (row.get("Labels") or {}).get("com.docker.compose.service") or name
            self.notes[name] = (
                f"{service} wrote {written // MB} MB to its container layer, over the "
                f"{self.shown} limit: stopped"
            )
