"""The registry UI in Debian's headless chromium (tests/harness/browser.py, DevTools protocol),
on the UI origin the registry role deploys (the lab's nginx): the Docker token flow from a
page on that origin gets the login prompt there and the catalog and tags back; the same page
asking the registry's own realm (another site) gets no prompt and nothing; the lab's own page
lists what the admin may see, and tells a student the catalog is the teacher's."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from labdock.registry import RegistryClient
from tests.harness.browser import CHROMIUM, Browser
from tests.harness.populate import TinyImage
from tests.harness.registry import USER, ThrowawayRegistry

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium: `make test-tools` installs it"),
]

PROBE = Path(__file__).resolve().parents[1] / "harness" / "token_flow_probe.html"
# The newest image of the test's student: later than anything other tests push.
STUDENT_CREATED = "2031-05-04T03:02:01Z"
COURSE_CREATED = "2026-09-01T08:30:00Z"


@dataclass
class UiLab:
    registry: ThrowawayRegistry
    course: str  # a course repository with tags 1.0 and latest
    course_digest: str
    course_image: TinyImage
    student: str
    student_repository: str
    screenshots: Path


@pytest.fixture(scope="module")
def ui_lab(
    registry: ThrowawayRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UiLab]:
    """The session registry (its UI on), with a course repository the admin pushed and an
    image of the first student's under their own namespace."""
    course = f"course-{secrets.token_hex(3)}/api"
    image = TinyImage.make(f"course {course}\n", created=COURSE_CREATED)
    with RegistryClient(registry.settings) as admin:
        image.upload(admin, course)
        digest = admin.put_manifest(course, "1.0", image.manifest())
        admin.put_manifest(course, "latest", image.manifest())
    student = _students(registry)[0]
    repository = f"{student}/chat-{secrets.token_hex(3)}"
    mine = TinyImage.make(f"{repository}\n", created=STUDENT_CREATED)
    with RegistryClient(registry.settings_for(student)) as client:
        mine.upload(client, repository)
        client.put_manifest(repository, "1.0", mine.manifest())
    yield UiLab(
        registry,
        course,
        digest,
        image,
        student,
        repository,
        tmp_path_factory.mktemp("ui-screenshots"),
    )


def _students(registry: ThrowawayRegistry) -> list[str]:
    """The class as the role's accounts index lists it (tests may have added students)."""
    accounts = registry.accounts_index()["accounts"]
    return sorted(a["name"] for a in accounts if a["role"] == "student")


def _catalog(registry: ThrowawayRegistry) -> list[str]:
    with RegistryClient(registry.settings) as client:
        return client.catalog()


def _probe(lab: UiLab, browser: Browser, query: str = "") -> dict:
    url = f"{lab.registry.ui_url}/__token_flow_probe.html"
    browser.serve(url, PROBE.read_text(encoding="utf-8"))
    browser.goto(f"{url}?repository={lab.course}{query}")
    return browser.evaluate("window.probe")


def test_the_challenge_names_the_ui_origin_there_and_the_registry_realm_direct(
    ui_lab: UiLab,
) -> None:
    lab = ui_lab.registry
    through_ui = requests.get(f"{lab.ui_url}/v2/", timeout=10)
    direct = requests.get(f"{lab.url}/v2/", verify=str(lab.certs.ca_cert), timeout=10)
    assert through_ui.status_code == direct.status_code == 401
    realm = re.compile(r'realm="([^"]*)"')
    assert realm.search(through_ui.headers["WWW-Authenticate"])[1] == f"{lab.ui_url}/token"
    assert realm.search(direct.headers["WWW-Authenticate"])[1] == lab.realm
    # The rest of the challenge (service, scope) is the registry's own.
    assert (
        through_ui.headers["WWW-Authenticate"].split('"', 2)[2]
        == (direct.headers["WWW-Authenticate"].split('"', 2)[2])
    )


def test_token_flow_from_the_ui_origin_prompts_there_and_lists(ui_lab: UiLab) -> None:
    with Browser(credentials=(USER, ui_lab.registry.password)) as browser:
        seen = _probe(ui_lab, browser)
    assert "error" not in seen, seen
    assert seen["catalog_status"] == 200
    assert ui_lab.course in seen["catalog"]
    assert sorted(seen["tags"]) == ["1.0", "latest"]
    assert seen["realms"] == [f"{ui_lab.registry.ui_url}/token"] * 2
    # The login prompts (one per token request under the DevTools auth handler) come from
    # the UI's origin.
    assert browser.prompts
    assert {(p.origin, p.scheme) for p in browser.prompts} == {(ui_lab.registry.ui_url, "basic")}


def test_token_flow_with_the_registry_realm_gets_no_prompt(ui_lab: UiLab) -> None:
    """The control, today's setup without the UI's origin: the registry's own realm is another
    site for the page (https, another port). Even with the token service's CORS allowing the
    UI's origin and certificate errors ignored (the lab CA is not the browser's), no login
    prompt reaches the browser, so the page gets no token and lists nothing."""
    browser = Browser(credentials=(USER, ui_lab.registry.password), ignore_certificate_errors=True)
    with browser:
        seen = _probe(ui_lab, browser, f"&realm={ui_lab.registry.realm}")
    assert seen["realms"] == [ui_lab.registry.realm]
    assert "catalog" not in seen
    assert "error" in seen
    assert browser.prompts == []


def test_lab_page_lists_the_lab_for_the_admin(ui_lab: UiLab) -> None:
    lab = ui_lab.registry
    with Browser(credentials=(USER, lab.password)) as browser:
        # Two repositories a page: the catalog comes in many pages along the Link header
        # (the registry's own page size is 1000).
        browser.goto(f"{lab.ui_url}/?n=2")
        assert browser.wait_for("document.body.dataset.ready", timeout=90) == "true"
        page = browser.evaluate(PAGE_STATE)
        browser.evaluate(
            f"document.querySelector('#course tr[data-repository=\"{ui_lab.course}\"] button')"
            ".click()"
        )
        browser.wait_for("document.querySelectorAll('#tags tbody tr').length === 2")
        tags = browser.evaluate(TAGS_STATE)
        shot = browser.screenshot(ui_lab.screenshots / "registry-ui-admin.png")
    catalog = _catalog(lab)
    students = _students(lab)
    assert page["who"] == f"logged in as {USER}"
    assert page["notice"] is None
    assert browser.prompts
    assert {(p.origin, p.scheme) for p in browser.prompts} == {(lab.ui_url, "basic")}
    # The course images apart from the students' namespaces, every page of the catalog.
    assert sorted(page["course"]) == sorted(
        name for name in catalog if name.split("/")[0] not in students
    )
    assert ui_lab.course in page["course"]
    # One row per student: their repositories, newest image, bytes.
    rows = {row[0]: row[1:] for row in page["students"]}
    assert sorted(rows) == students
    for student, (count, _, _) in rows.items():
        assert int(count) == sum(1 for name in catalog if name.startswith(f"{student}/"))
    assert rows[ui_lab.student][1] == "2031-05-04 03:02 UTC"
    assert rows[ui_lab.student][2] != "0 B"
    # Tags with digest, size and creation date; no delete (registry_ui_delete_enabled off).
    size = len(ui_lab.course_image.layer.data) + len(ui_lab.course_image.config.data)
    digest = ui_lab.course_digest
    assert tags == [
        [tag, digest[:19], digest, f"{size} B", "2026-09-01 08:30 UTC", 0]
        for tag in ("1.0", "latest")
    ]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_lab_page_tells_a_student_the_catalog_is_the_teachers(ui_lab: UiLab) -> None:
    lab = ui_lab.registry
    with Browser(credentials=(ui_lab.student, lab.account_password(ui_lab.student))) as browser:
        browser.goto(f"{lab.ui_url}/")
        assert browser.wait_for("document.body.dataset.ready", timeout=60) == "refused"
        page = browser.evaluate(PAGE_STATE)
        browser.screenshot(ui_lab.screenshots / "registry-ui-student.png")
    assert page["notice"] == (
        f"{ui_lab.student} may not read the catalog: this page is the teacher's "
        f"(log in as {USER}); students push and pull their own images with docker."
    )
    assert page["course"] == []
    assert page["students"] == []


def test_ui_origin_refuses_deletes_when_they_are_off(ui_lab: UiLab) -> None:
    lab = ui_lab.registry
    response = requests.delete(
        f"{lab.ui_url}/v2/{ui_lab.course}/manifests/{ui_lab.course_digest}", timeout=10
    )
    assert response.status_code == 403
    assert ui_lab.course in _catalog(lab)


# What the page shows, read from its DOM.
PAGE_STATE = """(() => {
  const text = (sel) => {
    const e = document.querySelector(sel);
    return e && !e.hidden ? e.textContent : null;
  };
  const rows = (sel) => document.querySelector(sel).closest('section').hidden
    ? [] : [...document.querySelectorAll(sel + ' tbody tr')];
  return {
    who: text('#who'),
    notice: text('#notice'),
    course: rows('#course').map(r => r.dataset.repository),
    students: rows('#students').map(r => [...r.cells].map(c => c.textContent)),
  };
})()"""
TAGS_STATE = """[...document.querySelectorAll('#tags tbody tr')].map(r => [
  r.cells[0].textContent, r.cells[1].textContent, r.cells[1].title, r.cells[2].textContent,
  r.cells[3].textContent, r.cells[4].querySelectorAll('button').length])"""
