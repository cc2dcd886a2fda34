"""Debian's headless chromium driven through the DevTools protocol (CDP) over a websocket:
the few calls the UI tests need. Every request of the page is paused (Fetch domain) so the
browser's own auth prompts reach us as Fetch.authRequired, answered with the credentials
the test set, and so a URL of the test's choice can be answered with a page of its own on any
origin (Fetch.fulfillRequest)."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

from tests.harness.lifecycle import Throwaway

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
START_TIMEOUT = 30
MAX_PROMPTS = 20


@dataclass
class AuthPrompt:
    """One auth challenge the browser would have shown a person as a login prompt."""

    url: str
    origin: str
    scheme: str
    realm: str


@dataclass
class Browser(Throwaway):
    """One headless chromium with one page (tab); `close` ends the process it started."""

    window: tuple[int, int] = (1280, 900)
    credentials: tuple[str, str] | None = None
    prompts: list[AuthPrompt] = field(default_factory=list)
    served: dict[str, tuple[str, str]] = field(default_factory=dict)
    # For a control whose failure must not be the lab CA being unknown to the browser.
    ignore_certificate_errors: bool = False

    def start(self) -> None:
        if CHROMIUM is None:
            raise RuntimeError("no chromium on PATH: `make test-tools` installs Debian's package")
        self._profile = Path(tempfile.mkdtemp(prefix="labdock-chromium-"))
        self._process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless=new",
                # As root (the CI runs as root) chromium refuses to start with its sandbox.
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--remote-debugging-port=0",
                f"--user-data-dir={self._profile}",
                f"--window-size={self.window[0]},{self.window[1]}",
                *(["--ignore-certificate-errors"] if self.ignore_certificate_errors else []),
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._ids = itertools.count(1)
        self._ws = websocket.create_connection(self._page_socket(), timeout=10)
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Fetch.enable", patterns=[{"urlPattern": "*"}], handleAuthRequests=True)

    def close(self) -> None:
        try:
            if getattr(self, "_ws", None) is not None:
                self._ws.close()
        finally:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            shutil.rmtree(self._profile, ignore_errors=True)

    def _page_socket(self) -> str:
        """The websocket of the page chromium opened (DevToolsActivePort names the port)."""
        deadline = time.monotonic() + START_TIMEOUT
        port_file = self._profile / "DevToolsActivePort"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited with status {self._process.returncode}")
            if port_file.exists() and port_file.read_text().strip():
                port = port_file.read_text().split()[0]
                browser = websocket.create_connection(
                    f"ws://127.0.0.1:{port}{port_file.read_text().split()[1]}", timeout=10
                )
                try:
                    browser.send(json.dumps({"id": 1, "method": "Target.getTargets"}))
                    while True:
                        answer = json.loads(browser.recv())
                        if answer.get("id") == 1:
                            break
                finally:
                    browser.close()
                page = next(t for t in answer["result"]["targetInfos"] if t["type"] == "page")
                return f"ws://127.0.0.1:{port}/devtools/page/{page['targetId']}"
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its DevTools port in time")

    # -- protocol ------------------------------------------------------------------------

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """One command; events that arrive meanwhile are handled in order."""
        message_id = next(self._ids)
        self._ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self._event(message["method"], message.get("params", {}))

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Fetch.requestPaused":
            url = params["request"]["url"].split("?", 1)[0]
            if url in self.served:
                content_type, body = self.served[url]
                self._send_async(
                    "Fetch.fulfillRequest",
                    requestId=params["requestId"],
                    responseCode=200,
                    responseHeaders=[{"name": "Content-Type", "value": content_type}],
                    body=base64.b64encode(body.encode()).decode(),
                )
            else:
                self._send_async("Fetch.continueRequest", requestId=params["requestId"])
        elif method == "Fetch.authRequired":
            challenge = params["authChallenge"]
            self.prompts.append(
                AuthPrompt(
                    params["request"]["url"],
                    challenge["origin"],
                    challenge["scheme"],
                    challenge.get("realm", ""),
                )
            )
            # Wrong credentials make the browser ask again and again: a person gives up.
            if self.credentials is None or len(self.prompts) > MAX_PROMPTS:
                response: dict[str, str] = {"response": "CancelAuth"}
            else:
                user, password = self.credentials
                response = {"response": "ProvideCredentials", "username": user}
                response["password"] = password
            self._send_async(
                "Fetch.continueWithAuth",
                requestId=params["requestId"],
                authChallengeResponse=response,
            )

    def _send_async(self, method: str, **params: Any) -> None:
        """A command whose answer we do not wait for (sent from an event handler)."""
        self._ws.send(json.dumps({"id": next(self._ids), "method": method, "params": params}))

    # -- what the tests use ----------------------------------------------------------------

    def serve(self, url: str, body: str, content_type: str = "text/html; charset=utf-8") -> None:
        """Answer `url` (any query) with `body` from inside the browser: a test page on any
        origin."""
        self.served[url] = (content_type, body)

    def goto(self, url: str, timeout: float = 30) -> None:
        """Navigate and wait until that document has been parsed (its scripts have run)."""
        self.send("Page.navigate", url=url)
        self.wait_for(
            f"location.href === {json.dumps(url)} && document.readyState !== 'loading'", timeout
        )

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60) -> Any:
        """Poll `expression` until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except RuntimeError:
                value = None  # the page is navigating
            if value:
                return value
            time.sleep(0.2)
        raise TimeoutError(f"{expression} still false after {timeout:.0f} s")

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path
