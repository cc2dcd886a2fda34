"""What each course app must answer (SPEC.md), probed from this host on the container's own
address, so unpublished services are checked too. Keyed by image name, not service name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import requests
from docker.models.containers import Container

from labdock.stackcheck.discovery import Service

TIMEOUT = 5.0
AGES_PATH = "/supmit/api/v1.0/get_student_ages"
SOCKET_CHAT_PORT_HEX = "1388"  # 5000, as /proc/net/tcp writes ports
TCP_LISTEN, TCP_ESTABLISHED = "0A", "01"

Outcome = tuple[bool, str]
Probe = Callable[[Service, Sequence[Service]], Outcome]


def container_address(container: Container) -> str:
    networks = container.attrs["NetworkSettings"]["Networks"] or {}
    for network in networks.values():
        if network.get("IPAddress"):
            return network["IPAddress"]
    raise ValueError(f"container {container.name} has no IP address (not running?)")


def _url(service: Service, port: int, path: str) -> str:
    return f"http://{container_address(service.container)}:{port}{path}"


def _get(url: str, **kwargs: Any) -> requests.Response:
    return requests.get(url, timeout=TIMEOUT, allow_redirects=False, **kwargs)


def _json_object(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _env(container: Container) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in container.attrs["Config"]["Env"] or [])
    return {key: value for key, value in pairs}


def _flask_json_api(service: Service, port: int = 5000) -> tuple[Outcome, dict[str, Any] | None]:
    """The frontend/backend contract: / is a JSON object, /healthcheck is 200."""
    health = _get(_url(service, port, "/healthcheck"))
    if health.status_code != 200:
        return (False, f"GET /healthcheck -> {health.status_code}"), None
    root = _get(_url(service, port, "/"))
    body = _json_object(root)
    if root.status_code != 200 or body is None:
        return (False, f"GET / -> {root.status_code}, not a JSON object"), None
    return (True, "GET /healthcheck 200; GET / 200 JSON object"), body


def backend(service: Service, siblings: Sequence[Service]) -> Outcome:
    return _flask_json_api(service)[0]


def json_contains(haystack: Any, needle: Any) -> bool:
    """`needle` is `haystack` or sits somewhere inside it (a frontend may wrap the
    backend's answer in a key of its own)."""
    if haystack == needle:
        return True
    if isinstance(haystack, dict):
        return any(json_contains(value, needle) for value in haystack.values())
    if isinstance(haystack, list):
        return any(json_contains(value, needle) for value in haystack)
    return False


def frontend(service: Service, siblings: Sequence[Service]) -> Outcome:
    (ok, detail), body = _flask_json_api(service)
    if not ok or body is None:
        return ok, detail
    backends = [s for s in siblings if s.image_name == "backend"]
    if not backends:
        return False, "no backend service in the stack to compare the frontend's answer with"
    backend_body = _json_object(_get(_url(backends[0], 5000, "/")))
    if backend_body is None or not json_contains(body, backend_body):
        return False, f"GET / does not include the backend's answer {backend_body!r}: {body!r}"
    return True, f"{detail}, including the backend's answer"


def student_age(service: Service, siblings: Sequence[Service]) -> Outcome:
    url = _url(service, 5000, AGES_PATH)
    anonymous = _get(url)
    if anonymous.status_code != 401:
        return False, f"GET {AGES_PATH} without credentials -> {anonymous.status_code}, not 401"
    env = _env(service.container)
    user, password = env.get("STUDENT_AGE_USERNAME"), env.get("STUDENT_AGE_PASSWORD")
    if not user or not password:
        return False, "no STUDENT_AGE_USERNAME/STUDENT_AGE_PASSWORD in the container's env"
    answer = _get(url, auth=(user, password))
    body = _json_object(answer) or {}
    ages = body.get("student_ages")
    well_formed = isinstance(ages, dict) and all(
        isinstance(name, str) and isinstance(age, str) for name, age in ages.items()
    )
    if answer.status_code != 200 or not well_formed:
        return False, f"with credentials -> {answer.status_code} {answer.text[:120]!r}"
    return True, f"401 without credentials; 200 with, {len(ages)} students"


def _html_page(port: int) -> Probe:
    def probe(service: Service, siblings: Sequence[Service]) -> Outcome:
        page = _get(_url(service, port, "/"))
        if page.status_code != 200 or "html" not in page.headers.get("Content-Type", ""):
            return False, f"GET / -> {page.status_code} {page.headers.get('Content-Type')}"
        return True, "GET / 200 HTML"

    return probe


def simple_api(service: Service, siblings: Sequence[Service]) -> Outcome:
    answer = _get(_url(service, 8000, "/health"))
    body = _json_object(answer)
    if answer.status_code != 200 or body != {"status": "ok"}:
        return False, f"GET /health -> {answer.status_code} {answer.text[:120]!r}"
    return True, 'GET /health 200 {"status": "ok"}'


def postgres(service: Service, siblings: Sequence[Service]) -> Outcome:
    env = _env(service.container)
    user, database = env.get("POSTGRES_USER", "postgres"), env.get("POSTGRES_DB", "postgres")
    code, out = service.container.exec_run(["psql", "-U", user, "-d", database, "-tAc", "select 1"])
    text = out.decode(errors="replace").strip()
    if code != 0 or text != "1":
        return False, f"psql -U {user} -d {database} -> exit {code}: {text[-200:]}"
    return True, f"psql -U {user} -d {database} answers"


def proxy(service: Service, siblings: Sequence[Service]) -> Outcome:
    """The stacks' nginx: each port it publishes answers through it (an app's own answer,
    any status below 500; a 502 or 504 is nginx saying the app behind is not there)."""
    bindings = service.container.attrs["HostConfig"].get("PortBindings") or {}
    ports = sorted(int(key.split("/", 1)[0]) for key in bindings)
    if not ports:
        return False, "publishes no port"
    answers = {port: _get(_url(service, port, "/")).status_code for port in ports}
    shown = ", ".join(f"{port} -> {status}" for port, status in answers.items())
    if any(status >= 500 for status in answers.values()):
        return False, f"GET / through the proxy: {shown}"
    return True, f"GET / through the proxy: {shown}"


def _tcp_rows(container: Container) -> list[list[str]]:
    # The exit code is not telling: tcp6 is absent where IPv6 is off, and cat still prints tcp.
    _, out = container.exec_run(["cat", "/proc/net/tcp", "/proc/net/tcp6"])
    lines = out.decode(errors="replace").splitlines()
    return [line.split() for line in lines if line.strip() and not line.lstrip().startswith("sl")]


def _socket_state(column: int, state: str, meaning: str) -> Probe:
    def probe(service: Service, siblings: Sequence[Service]) -> Outcome:
        rows = _tcp_rows(service.container)
        if any(
            len(r) > 3 and r[column].endswith(f":{SOCKET_CHAT_PORT_HEX}") and r[3] == state
            for r in rows
        ):
            return True, meaning
        return False, f"not {meaning}"

    return probe


RULES: dict[str, Probe] = {
    "backend": backend,
    "frontend": frontend,
    "student_age": student_age,
    "student_website": _html_page(80),
    "website": _html_page(5000),
    "simple-api": simple_api,
    "postgres": postgres,
    "nginx": proxy,
    "socket_server": _socket_state(1, TCP_LISTEN, "listening on TCP 5000"),
    "socket_client": _socket_state(2, TCP_ESTABLISHED, "connected to the server on TCP 5000"),
}


def check_endpoint(service: Service, siblings: Sequence[Service]) -> Outcome:
    probe = RULES.get(service.image_name)
    if probe is None:
        return False, f"no rule for image {service.image_name!r}"
    try:
        return probe(service, siblings)
    except (requests.RequestException, ValueError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
